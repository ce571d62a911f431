// Exactly once through a self-deploy: lugh in Docker deploys a new commit of itself while
// the admin keeps writing to it (one command every 100–300 ms, some in bursts of 3–5), a
// 429 holds up a reply while the old container is being stopped, and a second /deploy
// arrives in a burst during the switch. Every command sits in a group chat of its own, so
// the bot's answers in that chat are the answers to that one update: none may be missing
// and none doubled, whichever container handled it; the old container must have answered
// some and the new one the rest.
import type Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDocker } from '../helpers/docker.js';
import { ADMIN_ID } from '../helpers/instance-env.js';
import { type LughInDocker, SELF_TOKEN, startLughInDocker } from '../helpers/lugh-in-docker.js';
import { createTestDatabase, redisUrl, type TestDatabase } from '../helpers/services.js';

const { docker, engine } = await testDocker();

/** Commands without side effects whose answer is one message. */
const COMMANDS = ['/whoami', '/version', '/flags', '/help'] as const;
/**
 * How long the probe's first answer is held up: longer than Docker's default stop grace
 * (10 s), so an old container that stops on Docker's clock, not lugh's, loses it.
 */
const RETRY_AFTER_SECONDS = 12;

interface Sent {
  readonly chatId: number;
  readonly text: string;
  readonly at: number;
  readonly kind: 'single' | 'batch' | 'probe';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded generator (mulberry32): the same stream of commands and pauses every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Docker's SIGTERMs to a container, as they happen (the engine keeps only its last 256
 * events, which a shared engine's health checks soon push out).
 */
async function watchTerms(docker: Docker, containerId: string) {
  const stream = (await docker.getEvents({
    filters: { container: [containerId], event: ['kill'] },
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const terms: number[] = [];
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      const event = JSON.parse(line) as { timeNano: number; Actor?: { Attributes?: Record<string, string> } };
      if (event.Actor?.Attributes?.signal === '15') terms.push(event.timeNano / 1e6);
    }
  });
  stream.on('error', () => {});
  return { first: () => terms[0], close: () => stream.destroy() };
}

describe.skipIf(!engine)('updates through a self-deploy (needs a Docker engine and the npm registry)', () => {
  let db: TestDatabase;
  let lugh: LughInDocker;
  let sql: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('staging_lugh');
    lugh = await startLughInDocker(docker, { databaseUrl: db.url, redisUrl: redisUrl(), adminId: ADMIN_ID });
    const whoami = await lugh.ask('/whoami', 90_000);
    expect(whoami.text).toContain(`Version: ${lugh.mainSha.slice(0, 7)}`);
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  }, 900_000);

  afterAll(async () => {
    await sql?.end();
    await lugh?.close();
    await db?.drop();
  }, 120_000);

  it('every command sent while the bot replaces itself is answered exactly once, and one /deploy makes one deployment', async () => {
    const started = Date.now();
    const { tg, admin } = lugh;
    const oldContainer = await lugh.running();
    const terms = await watchTerms(docker, oldContainer.Id);
    const oldVersion = lugh.mainSha.slice(0, 7);
    const next = await lugh.gh.pushCommit('develop', {
      message: 'Docs only: the image comes from the layer cache',
      files: { 'docs/self-deploy-updates-marker.txt': 'written while the bot was busy\n' },
    });
    const newVersion = next.slice(0, 7);
    const versionOf = (text: string) =>
      text.includes(newVersion) ? 'new' : text.includes(oldVersion) ? 'old' : undefined;

    const sent: Sent[] = [];
    let chats = 0;
    const send = (text: string, kind: Sent['kind']) => {
      chats += 1;
      const chatId = -(7_000_000 + chats);
      tg.sendText({
        token: SELF_TOKEN,
        chat: { id: chatId, type: 'group', title: `stream ${chats}` },
        from: admin,
        text,
      });
      sent.push({ chatId, text, at: Date.now(), kind });
      return chatId;
    };
    const botMessages = (chatId: number) =>
      tg.transcript(SELF_TOKEN, chatId).flatMap((e) => (e.kind === 'bot_message' ? [e] : []));
    let newAnsweredAt: number | undefined;
    let answered = 0; // every one before sent[answered] has an answer, none of them new
    const sawNew = () => {
      for (let i = answered; newAnsweredAt === undefined && i < sent.length; i++) {
        const replies = botMessages(sent[i]!.chatId);
        if (replies.some((m) => versionOf(m.text ?? '') === 'new')) newAnsweredAt = Date.now();
        else if (replies.length > 0 && i === answered) answered += 1;
      }
      return newAnsweredAt !== undefined;
    };

    const queued = await lugh.ask('/deploy staging');
    const id = Number(queued.text?.match(/Deploy #(\d+)/)?.[1]);
    expect(id).toBeGreaterThan(0);

    // The deployment's step, as the runner records it.
    const steps: Array<{ step: string; at: number }> = [];
    let step = '';
    let done = false;
    const watching = (async () => {
      while (!done) {
        const { rows } = await sql.query<{ step: string | null }>(
          'SELECT step FROM deployments WHERE id = $1',
          [id],
        );
        const now = rows[0]?.step ?? '';
        if (now !== step) {
          step = now;
          steps.push({ step, at: Date.now() - started });
        }
        await sleep(250);
      }
    })();

    // The stream: a command every 100–300 ms, now and then a burst of 3–5 at once; the
    // burst after the switch began carries the second /deploy.
    const random = seeded(12);
    let bursts = 0;
    let secondDeployChat: number | undefined;
    const streaming = (async () => {
      while (!done) {
        const pick = () => COMMANDS[Math.floor(random() * COMMANDS.length)] as string;
        if (secondDeployChat === undefined && step === 'switch') {
          bursts += 1;
          send(pick(), 'batch');
          secondDeployChat = send('/deploy staging', 'batch');
          send(pick(), 'batch');
          send(pick(), 'batch');
        } else if (random() < 0.12) {
          bursts += 1;
          const size = 3 + Math.floor(random() * 3);
          for (let i = 0; i < size; i++) send(pick(), 'batch');
        } else {
          send(pick(), 'single');
        }
        await sleep(100 + random() * 200);
      }
    })();

    // From the new version's health check until the new container answers, one /whoami at
    // a time has its reply held up by a 429: whenever the old container is told to stop,
    // it is most likely waiting out one, and its stop must wait for that reply.
    const probes: number[] = [];
    const probing = (async () => {
      const around = () => ['health', 'switch'].includes(step) && !sawNew();
      while (!done && !around()) await sleep(100);
      while (!done && around()) {
        const chatId = -(7_000_000 + chats + 1);
        tg.injectFault({
          token: SELF_TOKEN,
          method: 'sendMessage',
          kind: '429',
          retryAfter: RETRY_AFTER_SECONDS,
          chatId,
        });
        send('/whoami', 'probe');
        probes.push(chatId);
        // The next one as soon as this one is held up, so the old one is always waiting.
        const until = Date.now() + 30_000;
        while (
          !done &&
          Date.now() < until &&
          !tg.calls(SELF_TOKEN).some((c) => c.method === 'sendMessage' && c.params.chat_id === chatId) &&
          around()
        )
          await sleep(100);
      }
    })();

    try {
      const final = await lugh.finalOf(id, 300_000);
      expect(final.text).toContain(`✅ Deploy #${id} done`);
      // The second /deploy waited for the first; it deploys the same commit again, through a
      // second switch that the stream also goes through.
      await expect.poll(() => secondDeployChat !== undefined && sawNew(), { timeout: 60_000 }).toBe(true);
      // Its answer comes when the new bot gets to it, which may be after the first's result.
      const queuedSecond = await tg.waitForBotMessage(
        SELF_TOKEN,
        secondDeployChat!,
        (m) => /Deploy #\d+/.test(m.text ?? ''),
        { timeoutMs: 60_000 },
      );
      const second = Number(queuedSecond.text?.match(/Deploy #(\d+)/)?.[1]);
      expect(second).toBe(id + 1);
      // Its reports go to the chat it was asked from.
      const secondFinal = await tg.waitForBotMessage(
        SELF_TOKEN,
        secondDeployChat!,
        (m) => new RegExp(`(✅|❌|↩️) Deploy #${second}\\b`).test(m.text ?? ''),
        { timeoutMs: 300_000 },
      );
      expect(secondFinal.text).toContain(`✅ Deploy #${second} done`);
      await sleep(5_000);
    } finally {
      done = true;
      await Promise.all([watching, streaming, probing]);
      terms.close(); // the old container was stopped at the first switch, minutes ago
    }

    // Every update answered: wait for the stragglers (a held-up reply, the last bursts).
    const unanswered = () => sent.filter((s) => botMessages(s.chatId).length === 0);
    // (the figures below are printed either way; the assertions follow them)
    await expect
      .poll(() => unanswered().length, { timeout: 60_000, interval: 1_000 })
      .toBe(0)
      .catch(() => {});
    await sleep(3_000); // time for a second answer to any of them to show up

    const answers = sent.map((s) => {
      const messages = botMessages(s.chatId);
      const replies =
        s.chatId === secondDeployChat
          ? messages.filter((m) => /Deploy #\d+ of .* is queued|locked/.test(m.text ?? ''))
          : messages;
      return { ...s, replies, by: versionOf(replies[0]?.text ?? '') };
    });
    const twice = answers.filter((a) => a.replies.length > 1);
    const lost = answers.filter((a) => a.replies.length === 0);
    const byOld = answers.filter((a) => a.by === 'old');
    const byNew = answers.filter((a) => a.by === 'new');

    // The held-up reply the old container sent while it was being stopped.
    const termAt = terms.first();
    const firstCall = (chatId: number) =>
      tg.calls(SELF_TOKEN).find((c) => c.method === 'sendMessage' && c.params.chat_id === chatId)?.at;
    const heldAcross = answers.filter(
      (a) =>
        a.kind === 'probe' &&
        a.by === 'old' &&
        termAt !== undefined &&
        (firstCall(a.chatId) ?? Number.POSITIVE_INFINITY) < termAt &&
        (a.replies[0]?.at ?? 0) > termAt,
    );
    const polls = tg
      .calls(SELF_TOKEN)
      .filter((c) => c.method === 'getUpdates' && typeof c.params.offset === 'number' && c.at >= started)
      .map((c) => ({ offset: c.params.offset as number, at: c.at - started }));
    // What a poll confirms beyond every earlier one is what the poll before it was given (a
    // new container starts over from offset 1, which confirms nothing new).
    let confirmed = polls[0]?.offset ?? 0;
    const batches = polls
      .map((p) => {
        const size = Math.max(0, p.offset - confirmed);
        confirmed = Math.max(confirmed, p.offset);
        return size;
      })
      .filter((size) => size > 1);
    const { rows: deployments } = await sql.query<{
      id: string;
      trigger: string;
      status: string;
      sha: string;
    }>(`SELECT id, trigger, status, sha FROM deployments WHERE trigger <> 'baseline' ORDER BY id`);

    const figures = {
      seconds: Math.round((Date.now() - started) / 1000),
      sent: sent.length,
      bursts,
      probes: probes.length,
      batchesOfSeveral: batches.length,
      largestBatch: Math.max(0, ...batches),
      replies: answers.reduce((n, a) => n + a.replies.length, 0),
      lost: lost.length,
      twice: twice.length,
      byOld: byOld.length,
      byNew: byNew.length,
      heldAcrossTheStop: heldAcross.length,
      steps,
      deployments: deployments.map((d) => `${d.id}:${d.trigger}:${d.status}`),
    };
    console.log(`self-deploy updates: ${JSON.stringify(figures)}`);

    expect(twice.map((a) => `${a.text} in ${a.chatId}: ${a.replies.length} answers`)).toEqual([]);
    expect(lost.map((a) => `${a.text} in ${a.chatId}`)).toEqual([]);
    // The handover happened inside the stream: both containers answered some of it.
    expect(byOld.length).toBeGreaterThan(10);
    expect(byNew.length).toBeGreaterThan(10);
    expect(termAt).toBeDefined();
    expect(heldAcross.length).toBeGreaterThan(0);
    // One row per /deploy: the admin's and the one in the burst, both shipped.
    expect(deployments.map((d) => [Number(d.id), d.trigger, d.status, d.sha])).toEqual([
      [id, 'manual', 'succeeded', next],
      [id + 1, 'manual', 'succeeded', next],
    ]);
  }, 900_000);
});
