// Figures for /delivery: its SQL (the window, the one before and the chart's series: two
// statements) and the chart's rendering, on a production history of two years at about six
// deploys a day (a tenth rolled back, a /rollback after one in twenty, promotions titled, one in
// four of them a fix; an audit log of ten rows a deploy, a /restore every fifty days). Printed, not asserted.
import { renderDeliveryChart } from '../src/bot/deploys/delivery-chart.js';
import { deliveryCaption } from '../src/bot/deploys/delivery-text.js';
import { deliveryReport } from '../src/deploys/delivery-report.js';
import { deliveryFigures } from '../src/store/delivery-figures.js';
import { runMigrations } from '../src/store/migrate.js';
import { createPool } from '../src/store/pool.js';
import { silentLogger as logger } from '../tests/helpers/logger.js';
import { record } from './figures.js';
import { createBenchDatabase } from './promote.js';
import { percentile } from './stats.js';

const RUNS = Number(process.env.BENCH_DELIVERY_RUNS ?? 30);
const DAYS = 730;
const PER_DAY = 6;

export async function benchDelivery(databaseUrl: string): Promise<void> {
  const db = await createBenchDatabase(databaseUrl, 'delivery');
  const pool = createPool(db.url, 'bench-delivery');
  try {
    await runMigrations({ databaseUrl: db.url, logger });
    // One statement: every deploy of the two years, with its rollbacks, numbered by the trigger.
    await pool.query(
      `INSERT INTO deployments (env, ref, sha, trigger, status, created_at, started_at, finished_at, first_commit_at, head_title)
       SELECT 'production', 'main', md5(i::text) || '00000000', CASE WHEN i % 3 = 0 THEN 'promotion' ELSE 'manual' END,
              CASE WHEN i % 10 = 0 THEN 'rolled_back' ELSE 'succeeded' END,
              t - interval '4 minutes', t - interval '4 minutes', t,
              CASE WHEN i % 3 = 0 THEN t - interval '1 hour' * (1 + i % 40) END,
              CASE WHEN i % 12 = 0 THEN 'fix: change ' || i WHEN i % 3 = 0 THEN 'feat: change ' || i END
       FROM generate_series(1, $1::int) AS i,
            LATERAL (SELECT now() - make_interval(mins => i * (1440 / $2::int))) AS at(t)
       ORDER BY i DESC`,
      [DAYS * PER_DAY, PER_DAY],
    );
    await pool.query(
      `INSERT INTO deployments (env, ref, sha, trigger, status, created_at, started_at, finished_at)
       SELECT 'production', 'main', sha, 'rollback', 'succeeded', finished_at + interval '30 minutes',
              finished_at + interval '30 minutes', finished_at + interval '33 minutes'
       FROM deployments WHERE trigger = 'manual' AND id % 20 = 1 ORDER BY id`,
    );
    await pool.query(
      `INSERT INTO audit_log (at, env, actor_id, action, outcome, details)
       SELECT now() - make_interval(mins => i * (1440 / ($1::int * 10))), 'production', 1,
              CASE WHEN i % ($1::int * 10 * 50) = 0 THEN '/restore' ELSE '/status' END, 'ok', '{}'
       FROM generate_series(1, $2::int) AS i`,
      [PER_DAY, DAYS * PER_DAY * 10],
    );
    const reads = deliveryFigures(pool);
    const sql: number[] = [];
    const chart: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const report = await deliveryReport(reads, 'production', 90, new Date());
      const t1 = performance.now();
      await renderDeliveryChart(report);
      deliveryCaption(report);
      chart.push(performance.now() - t1);
      sql.push(t1 - t0);
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM deployments');
    const note = `${rows[0].n} deployments over ${DAYS} days, ${RUNS} runs`;
    record({
      key: 'delivery.sql.p50',
      label: '/delivery 90: the SQL, p50',
      value: percentile(sql, 50),
      unit: 'ms',
      note,
    });
    record({
      key: 'delivery.sql.p95',
      label: '/delivery 90: the SQL, p95',
      value: percentile(sql, 95),
      unit: 'ms',
      note,
    });
    record({
      key: 'delivery.chart.p50',
      label: '/delivery 90: chart and caption, p50',
      value: percentile(chart, 50),
      unit: 'ms',
      note,
    });
  } finally {
    await pool.end();
    await db.drop();
  }
}
