// Production's intake against the GitHub stand-in and real Postgres: only a handoff that
// staging's key signed, for a commit on main, approved by production's admins, to a chat
// production reports to, and for a promotion never deployed, becomes a deployment. Every
// forged one is refused: failure on GitHub, an audit row, a notice in the outbox, no row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationTexts } from '../../../src/bot/notifications/render.js';
import { generatePromoteKeys } from '../../../src/config/promote-keys.js';
import { type HandoffClaims, signHandoff } from '../../../src/deployer/handoff-signature.js';
import { createDeployIntake, type DeployIntake } from '../../../src/deployer/intake.js';
import type { Forge } from '../../../src/forge/forge.js';
import type { GitHubStandIn } from '../../../src/sandbox/github/index.js';
import { createAuditLog } from '../../../src/store/audit-log.js';
import { createChatMigrationStore } from '../../../src/store/chat-migrations.js';
import { createDeploymentStore } from '../../../src/store/deployments.js';
import { runMigrations } from '../../../src/store/migrate.js';
import { createNotificationOutbox } from '../../../src/store/notifications.js';
import { createPool, type Pool } from '../../../src/store/pool.js';
import { silentLogger as logger } from '../../helpers/logger.js';
import { startSeededGitHub } from '../../helpers/seeded-github.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/services.js';

const ADMIN = 1001;
const STRANGER = 2002;
const NOTIFY_CHAT = -100500;
const CREATOR = 'lugh-sandbox[bot]';

describe('signed handoffs: what production deploys, and what it refuses (GitHub stand-in, real Postgres)', () => {
  const keys = generatePromoteKeys();
  let db: TestDatabase;
  let pool: Pool;
  let gh: GitHubStandIn;
  let forge: Forge;
  let seeded: { mainSha: string; developSha: string };
  let intake: DeployIntake;
  const queued: number[] = [];
  let nextPromotion = 100;

  beforeAll(async () => {
    ({ gh, forge, seeded } = await startSeededGitHub());
    db = await createTestDatabase('prod_lugh');
    await runMigrations({ databaseUrl: db.url, logger });
    pool = createPool(db.url, 'signed-handoffs-test');
    const outbox = createNotificationOutbox(pool);
    const texts = createNotificationTexts((t) => t);
    intake = createDeployIntake({
      env: 'production',
      logger,
      source: forge,
      deployments: createDeploymentStore(pool),
      enqueue: async (id) => {
        queued.push(id);
        return `deployment-${id}`;
      },
      handoff: {
        verifyKey: keys.verifyKey,
        adminIds: [ADMIN],
        chatIds: [NOTIFY_CHAT],
        branch: 'main',
        movedChats: () => createChatMigrationStore(pool).all(),
      },
      audit: createAuditLog(pool, 'production'),
      announceRefusal: async (r) => {
        await outbox.enqueue(
          `handoff-refused:${r.env}:${r.githubDeploymentId}`,
          NOTIFY_CHAT,
          texts.handoffRefused(r),
        );
      },
    });
  }, 120_000);

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    await gh?.close();
  });

  const claimsFor = (sha: string, change: Partial<HandoffClaims> = {}): HandoffClaims => ({
    sha,
    environment: 'production',
    promotionId: nextPromotion++,
    approvers: [ADMIN],
    chatId: ADMIN,
    approvedAt: new Date().toISOString(),
    ...change,
  });

  /** A GitHub Deployment of production with this `lugh` payload, as anyone with deployments: write can make. */
  const handOver = async (sha: string, lugh: Record<string, unknown>) =>
    (await forge.createDeployment(sha, 'production', 'a handoff', { lugh })).id;

  const statusesOf = async (id: number) => {
    const res = await fetch(
      `${gh.apiUrl}/repos/${gh.repo.owner}/${gh.repo.name}/deployments/${id}/statuses`,
      {
        headers: { authorization: 'token ghs_seededGitHubTestToken' },
      },
    );
    expect(res.status).toBe(200);
    return ((await res.json()) as Array<{ state: string; description: string }>).map((s) => ({
      state: s.state,
      description: s.description,
    }));
  };
  const rows = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows;

  /** Polls (three at once, and again), then checks the Deployment was refused exactly once and deployed never. */
  async function expectRefused(id: number, reason: RegExp) {
    const before = queued.length;
    await Promise.all([intake.poll(), intake.poll(), intake.poll()]);
    await intake.poll();
    expect(queued.length, 'nothing queued').toBe(before);
    expect(await rows('SELECT id FROM deployments WHERE github_deployment_id = $1', [id])).toEqual([]);
    const statuses = await statusesOf(id);
    expect(statuses).toHaveLength(1);
    expect(statuses[0]!.state).toBe('failure');
    expect(statuses[0]!.description).toMatch(reason);
    const audit = await rows(
      `SELECT outcome, details FROM audit_log WHERE action = 'handoff refused' AND (details->>'githubDeploymentId')::bigint = $1`,
      [id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'refused', details: { creator: CREATOR } });
    expect(audit[0].details.reason).toMatch(reason);
    const notices = await rows('SELECT chat_id, text FROM notifications WHERE dedup_key = $1', [
      `handoff-refused:production:${id}`,
    ]);
    expect(notices).toHaveLength(1);
    expect(Number(notices[0].chat_id)).toBe(NOTIFY_CHAT);
    expect(notices[0].text).toContain(CREATOR);
    expect(notices[0].text).toContain(`GitHub deployment ${id}`);
  }

  it('a genuine handoff is deployed exactly once, however often polls and webhooks see it', async () => {
    const claims = claimsFor(seeded.mainSha);
    const id = await handOver(seeded.mainSha, { ...signHandoff(claims, keys.signingKey) });
    const before = queued.length;
    const claimed = await Promise.all([intake.poll(), intake.poll(), intake.poll()]);
    expect(claimed.flat()).toHaveLength(1);
    // The webhook of the same Deployment, later: already claimed, nothing new.
    expect(
      await intake.handleWebhook('deployment', {
        deployment: {
          id,
          sha: seeded.mainSha,
          ref: seeded.mainSha,
          environment: 'production',
          created_at: new Date().toISOString(),
          payload: { lugh: signHandoff(claims, keys.signingKey) },
          creator: { login: CREATOR },
        },
      }),
    ).toBeUndefined();
    expect(queued.length).toBe(before + 1);
    const [row] = await rows(
      'SELECT trigger, sha, requested_by, chat_id, promotion_id FROM deployments WHERE github_deployment_id = $1',
      [id],
    );
    expect(row).toEqual({
      trigger: 'promotion',
      sha: seeded.mainSha,
      requested_by: String(ADMIN),
      chat_id: String(ADMIN),
      promotion_id: String(claims.promotionId),
    });
    expect((await statusesOf(id)).map((s) => s.state)).toEqual(['queued']);
  });

  it('a genuine handoff’s report (PR, release, who promoted and approved, CI’s time) travels to the deployment row; what is not of its shape is left out', async () => {
    const sha = await gh.pushCommit('main', { message: 'report travels', files: { 'report.txt': 'x' } });
    const claims = claimsFor(sha);
    const report = {
      promotionId: claims.promotionId,
      pr: { number: 12, url: 'https://github.com/o/r/pull/12' },
      release: { tag: 'v1.4.0', url: 'javascript:alert(1)' },
      promotedBy: '@ada',
      approvedBy: '@bob',
      ciMs: 190_000,
    };
    const id = (
      await forge.createDeployment(sha, 'production', 'a handoff', {
        lugh: signHandoff(claims, keys.signingKey),
        report,
      })
    ).id;
    await intake.poll();
    const [row] = await rows(
      'SELECT requested_by_name, context FROM deployments WHERE github_deployment_id = $1',
      [id],
    );
    expect(row).toEqual({
      requested_by_name: '@bob',
      context: {
        promotionId: claims.promotionId,
        pr: { number: 12, url: 'https://github.com/o/r/pull/12' },
        // Not an http(s) link: the tag alone.
        release: { tag: 'v1.4.0' },
        promotedBy: '@ada',
        approvedBy: '@bob',
        ciMs: 190_000,
        approvedAt: claims.approvedAt,
      },
    });
  });

  it('refuses a handoff with no signature', async () => {
    const { signature: _, ...unsigned } = signHandoff(claimsFor(seeded.mainSha), keys.signingKey);
    await expectRefused(await handOver(seeded.mainSha, unsigned), /not signed/);
  });

  it('refuses a handoff signed with another key', async () => {
    const forged = signHandoff(claimsFor(seeded.mainSha), generatePromoteKeys().signingKey);
    await expectRefused(await handOver(seeded.mainSha, { ...forged }), /does not verify/);
  });

  it('refuses a valid signature over another commit', async () => {
    // Staging really signed this, but for develop's head: the Deployment asks for main's.
    const signedForOther = signHandoff(claimsFor(seeded.developSha), keys.signingKey);
    await expectRefused(await handOver(seeded.mainSha, { ...signedForOther }), /does not verify/);
  });

  it('refuses a replayed promotion id, in a second GitHub Deployment of a deployed promotion', async () => {
    const claims = claimsFor(seeded.mainSha);
    const first = await handOver(seeded.mainSha, { ...signHandoff(claims, keys.signingKey) });
    await intake.poll();
    const [deployed] = await rows('SELECT id FROM deployments WHERE github_deployment_id = $1', [first]);
    expect(deployed).toBeDefined();
    // The same signed promotion again (a replay, or a POST GitHub performed twice).
    const again = await handOver(seeded.mainSha, {
      ...signHandoff({ ...claims, approvedAt: new Date(Date.now() + 1).toISOString() }, keys.signingKey),
    });
    await expectRefused(again, new RegExp(`promotion #${claims.promotionId} was deployed before`));
    expect(
      await rows('SELECT id FROM deployments WHERE promotion_id = $1', [claims.promotionId]),
    ).toHaveLength(1);
  });

  it('two GitHub Deployments of one promotion seen at once: one deploy, the other refused', async () => {
    const claims = claimsFor(seeded.mainSha);
    const ids = [
      await handOver(seeded.mainSha, { ...signHandoff(claims, keys.signingKey) }),
      await handOver(seeded.mainSha, { ...signHandoff(claims, keys.signingKey) }),
    ];
    const before = queued.length;
    await Promise.all([intake.poll(), intake.poll(), intake.poll()]);
    expect(queued.length).toBe(before + 1);
    expect(
      await rows('SELECT id FROM deployments WHERE promotion_id = $1', [claims.promotionId]),
    ).toHaveLength(1);
    const states = await Promise.all(ids.map(async (id) => (await statusesOf(id)).map((s) => s.state)));
    expect(states.sort()).toEqual([['failure'], ['queued']]);
  });

  it('refuses a commit that is not on main', async () => {
    const notOnMain = signHandoff(claimsFor(seeded.developSha), keys.signingKey);
    await expectRefused(await handOver(seeded.developSha, { ...notOnMain }), /is not on main/);
  });

  it('refuses an approver who is not one of production’s admins', async () => {
    const byStranger = signHandoff(claimsFor(seeded.mainSha, { approvers: [STRANGER] }), keys.signingKey);
    await expectRefused(await handOver(seeded.mainSha, { ...byStranger }), /not in production's ADMIN_IDS/);
  });

  it('refuses a chat production does not report to', async () => {
    const elsewhere = signHandoff(claimsFor(seeded.mainSha, { chatId: -999 }), keys.signingKey);
    await expectRefused(
      await handOver(seeded.mainSha, { ...elsewhere }),
      /chat -999 is not one production reports to/,
    );
  });

  it('takes the supergroup the notify group became (Telegram: migrate_to_chat_id) as a chat to report to', async () => {
    const supergroup = -1000000100500;
    await createChatMigrationStore(pool).record(NOTIFY_CHAT, supergroup);
    const toMoved = signHandoff(claimsFor(seeded.mainSha, { chatId: supergroup }), keys.signingKey);
    const id = await handOver(seeded.mainSha, { ...toMoved });
    await intake.poll();
    expect(await rows('SELECT id FROM deployments WHERE github_deployment_id = $1', [id])).toHaveLength(1);
  });

  it('takes the notify chat as a chat to report to', async () => {
    const toNotify = signHandoff(claimsFor(seeded.mainSha, { chatId: NOTIFY_CHAT }), keys.signingKey);
    const id = await handOver(seeded.mainSha, { ...toNotify });
    await intake.poll();
    expect(await rows('SELECT id FROM deployments WHERE github_deployment_id = $1', [id])).toHaveLength(1);
  });
});
