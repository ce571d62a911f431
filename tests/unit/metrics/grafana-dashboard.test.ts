// The shipped Grafana dashboard queries only metrics lugh exposes, and shows each of lugh's own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../../src/metrics/prometheus.js';

const REPO_ROOT = join(import.meta.dirname, '../../..');
const dashboard = JSON.parse(
  readFileSync(join(REPO_ROOT, 'deploy/monitoring/grafana-dashboard.json'), 'utf8'),
) as {
  templating: { list: Array<{ name: string; type: string; query?: unknown }> };
  panels: Array<{
    title: string;
    datasource: { uid: string };
    targets: Array<{ expr: string; datasource: { uid: string } }>;
  }>;
};
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
/** The metric names a PromQL expression reads (a histogram's series named by their metric). */
const metricsOf = (expr: string) =>
  [...expr.matchAll(/\b((?:lugh|process|nodejs)_[a-z0-9_]+)/g)].map((m) =>
    m[1]!.replace(/_(bucket|sum|count)$/, ''),
  );

describe('deploy/monitoring/grafana-dashboard.json', () => {
  it('queries only metrics that exist in lugh’s registry', async () => {
    const names = new Set(await createPrometheusMetrics({ env: 'staging' }).names());
    const queried = [...new Set(exprs.flatMap(metricsOf))];
    expect(queried.length).toBeGreaterThan(10);
    expect(queried.filter((n) => !names.has(n))).toEqual([]);
  });

  it('has a panel for every lugh metric', async () => {
    const names = (await createPrometheusMetrics({ env: 'staging' }).names()).filter((n) =>
      n.startsWith('lugh_'),
    );
    const queried = new Set(exprs.flatMap(metricsOf));
    expect(names.filter((n) => !queried.has(n))).toEqual([]);
  });

  it('takes its Prometheus from a datasource variable', () => {
    const variable = ['$', '{datasource}'].join(''); // Grafana's, not a template string
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe(variable);
      for (const target of panel.targets) expect(target.datasource.uid, panel.title).toBe(variable);
    }
  });
});
