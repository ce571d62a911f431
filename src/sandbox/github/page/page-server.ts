import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StandInCore } from '../core.js';
import { mergePullRequest, setPullState } from '../pull-lifecycle.js';
import { PAGE_PATH, pullsPage } from './pulls-page.js';
import { simulatePull, simulatePush } from './simulated-pull.js';

const MAX_FORM = 64 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM) throw new Error('the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Back to the page (post/redirect/get), saying what happened. */
function backToPage(res: ServerResponse, note: { done: string } | { error: string }): void {
  const query = new URLSearchParams(note as Record<string, string>).toString();
  res.writeHead(303, { location: `${PAGE_PATH}?${query}`, 'content-length': '0' });
  res.end();
}

/** What one button does to pull request `pr`; what to say after. */
async function act(
  core: StandInCore,
  number: number,
  action: string,
  form: URLSearchParams,
): Promise<string> {
  const pr = core.state.pull(number);
  if (!pr) throw new Error(`there is no pull request #${number}`);
  switch (action) {
    case 'push': {
      const sha = await simulatePush(core, pr, form.get('greeting') ?? undefined);
      return `Pushed ${sha.slice(0, 7)} to #${number}`;
    }
    case 'close':
      await setPullState(core, number, 'closed');
      return `Closed #${number}`;
    case 'reopen':
      await setPullState(core, number, 'open');
      return `Reopened #${number}`;
    case 'merge': {
      const sha = await mergePullRequest(core, number);
      return `Merged #${number} into ${pr.base} (${sha.slice(0, 7)})`;
    }
    default:
      throw new Error(`unknown action "${action}": push, close, reopen or merge`);
  }
}

/**
 * Serves the stand-in's own page under PAGE_PATH (no token: it is the sandbox's local page,
 * bound where the stand-in is); false for any other path, which is GitHub's API.
 */
export async function servePage(
  core: StandInCore,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  if (url.pathname !== PAGE_PATH.slice(0, -1) && !url.pathname.startsWith(PAGE_PATH)) return false;
  const method = (req.method ?? 'GET').toUpperCase();
  const rest = url.pathname.slice(PAGE_PATH.length);
  if (method === 'GET' && rest === '') {
    const done = url.searchParams.get('done');
    const error = url.searchParams.get('error');
    const note = error ? { text: error, error: true } : done ? { text: done, error: false } : undefined;
    const html = pullsPage(core, note);
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(html)),
      'cache-control': 'no-store',
    });
    res.end(html);
    return true;
  }
  const pullAction = /^pulls\/(\d+)\/([a-z]+)$/.exec(rest);
  if (method === 'POST' && (rest === 'pulls' || pullAction)) {
    try {
      const form = await readForm(req);
      if (pullAction) {
        backToPage(res, { done: await act(core, Number(pullAction[1]), pullAction[2]!, form) });
      } else {
        const opened = await simulatePull(core, {
          greeting: form.get('greeting') ?? undefined,
          base: form.get('base')?.trim() || undefined,
          fork: form.get('fork') === '1',
        });
        backToPage(res, { done: `Opened #${opened.number} (${opened.headSha.slice(0, 7)})` });
      }
    } catch (error) {
      backToPage(res, { error: `Not done: ${error instanceof Error ? error.message : String(error)}` });
    }
    return true;
  }
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`Not found: the stand-in's page is ${PAGE_PATH}`);
  return true;
}
