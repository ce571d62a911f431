// "Simulate a PR": a change to the seeded app that anyone can see in a browser. The app
// answers 404 at `/`; a simulated pull request makes it greet at `/` (a page naming the
// greeting and the commit), and each further push changes the greeting.
import type { StandInCore } from '../core.js';
import { type OpenedPullRequest, openFork, openPull, pushToPull } from '../pull-lifecycle.js';
import { headTip } from '../pulls.js';
import type { PullRecord } from '../state.js';

const GREETING_LINE = /^const greeting = .*;$/m;
const NOT_FOUND = `  res.writeHead(404, { 'content-type': 'application/json' });`;

/** The greeting route, added before the app's 404. */
const greetingRoute = [
  `  if (req.method === 'GET' && req.url === '/') {`,
  `    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });`,
  `    const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);`,
  `    res.end(\`<!doctype html><meta charset="utf-8"><title>acme-app</title><h1 id="greeting">\${esc(greeting)}</h1><p id="commit">\${esc(commit)}</p>\`);`,
  `    return;`,
  `  }`,
].join('\n');

/**
 * server.js with `greeting` shown at `/`: the greeting replaced when the app has one, else
 * the greeting and its route added. Undefined when the file is not the seeded app's.
 */
export function withGreeting(serverJs: string, greeting: string): string | undefined {
  const line = `const greeting = ${JSON.stringify(greeting)};`;
  if (GREETING_LINE.test(serverJs)) return serverJs.replace(GREETING_LINE, line);
  const commitLine = /^const commit = .*;$/m;
  if (!commitLine.test(serverJs) || !serverJs.includes(NOT_FOUND)) return undefined;
  return serverJs
    .replace(commitLine, (found) => `${found}\n${line}`)
    .replace(NOT_FOUND, `${greetingRoute}\n${NOT_FOUND}`);
}

async function serverJsAt(core: StandInCore, sha: string): Promise<string> {
  const found = await core.repo.entryAt(sha, 'server.js');
  if (found?.entry.type !== 'blob')
    throw new Error(`commit ${sha.slice(0, 7)} has no server.js: not the seeded app`);
  return (await core.repo.blob(found.entry.sha)).toString('utf8');
}

async function greeted(core: StandInCore, sha: string, greeting: string): Promise<string> {
  const next = withGreeting(await serverJsAt(core, sha), greeting);
  if (next === undefined) throw new Error(`server.js at ${sha.slice(0, 7)} is not the seeded app's`);
  return next;
}

export interface SimulatedPullInput {
  /** What the app says at `/` (default: a greeting naming the pull request's branch). */
  readonly greeting?: string;
  /** The branch it goes into (default develop). */
  readonly base?: string;
  /** Open it from a fork (someone else's code: lugh never builds it on its own). */
  readonly fork?: boolean;
}

/** A branch with one commit that makes the app greet, and a pull request of it into `base`. */
export async function simulatePull(
  core: StandInCore,
  input: SimulatedPullInput = {},
): Promise<OpenedPullRequest> {
  const base = input.base ?? 'develop';
  const baseSha = await core.repo.branchSha(base);
  if (!baseSha) throw new Error(`the repository has no branch ${base}`);
  const n = core.state.nextPullNumber();
  // A branch of its own, even when two are simulated at once.
  let headRef = `simulated/greeting-${n}`;
  for (let k = 2; (await core.repo.branchSha(headRef)) !== undefined; k += 1)
    headRef = `simulated/greeting-${n}-${k}`;
  const greeting = input.greeting?.trim() || `Hello from pull request #${n}`;
  const files = { 'server.js': await greeted(core, baseSha, greeting) };
  const title = `Greet with “${greeting}”`;
  const message = `Greet at / with "${greeting}"`;
  if (input.fork) {
    return openFork(core, { fork: 'octo-contributor/app', headRef, base, title, files, message });
  }
  return openPull(core, { headRef, base, title, files, message });
}

/** Another commit on the pull request: a new greeting (`push 2`, `push 3`, …). */
export async function simulatePush(core: StandInCore, pr: PullRecord, greeting?: string): Promise<string> {
  const head = (await headTip(core, pr)) ?? pr.headSha;
  const pushes = (await core.repo.countBetween(pr.baseSha, head)) + 1;
  const text = greeting?.trim() || `Hello from pull request #${pr.number}, push ${pushes}`;
  return pushToPull(core, pr.number, {
    message: `Greet at / with "${text}"`,
    files: { 'server.js': await greeted(core, head, text) },
  });
}
