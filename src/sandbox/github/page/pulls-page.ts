// The GitHub stand-in's own page (not GitHub's API): the repository's pull requests, and
// buttons that do what people do on GitHub — open a pull request that changes the app
// visibly, push to it, close, reopen, merge — so the sandbox shows previews end to end.
import type { StandInCore } from '../core.js';
import type { PullRecord } from '../state.js';

/** Where the page lives on the stand-in (outside every path of GitHub's API). */
export const PAGE_PATH = '/_sandbox/';

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function button(pr: PullRecord, action: string, label: string): string {
  return `<form method="post" action="${PAGE_PATH}pulls/${pr.number}/${action}"><button name="action" value="${action}" data-pull="${pr.number}" data-action="${action}">${esc(label)}</button></form>`;
}

/**
 * What GitHub shows on a pull request for its head's deployments: the newest one's latest
 * state, with "View deployment" (its environment_url) while that state is success.
 */
function deploymentCell(core: StandInCore, pr: PullRecord): string {
  const deployment = core.state.deployments.filter((d) => d.sha === pr.headSha).at(-1);
  if (!deployment) return '';
  const status = core.state.deploymentStatuses.filter((st) => st.deploymentId === deployment.id).at(-1);
  const state = status?.state ?? 'pending';
  const url = status?.environmentUrl;
  const link =
    state === 'success' && url && /^https?:\/\//.test(url)
      ? ` <a class="view-deployment" href="${esc(url)}" target="_blank" rel="noopener">View deployment</a>`
      : '';
  return `${esc(deployment.environment)}: <span class="deployment-state">${esc(state)}</span>${link}`;
}

/** The newest comment in the conversation (lugh's preview comment, edited in place), as text. */
function commentCell(core: StandInCore, pr: PullRecord): string {
  const comments = core.state.comments.filter((c) => c.issueNumber === pr.number);
  const last = comments.at(-1);
  if (!last) return '';
  const text = last.body.replace(/<!--[\s\S]*?-->/g, '').trim();
  return `<details><summary>${comments.length} comment${comments.length === 1 ? '' : 's'}</summary><pre class="comment">${esc(text.slice(0, 2000))}</pre></details>`;
}

function row(core: StandInCore, pr: PullRecord): string {
  const state = pr.mergedAt ? 'merged' : pr.state;
  const from = pr.headRepo ? `${pr.headRepo.owner}/${pr.headRepo.name}:${pr.head}` : pr.head;
  const actions =
    state === 'open'
      ? [button(pr, 'push', 'Push a commit'), button(pr, 'close', 'Close'), button(pr, 'merge', 'Merge')]
      : state === 'closed'
        ? [button(pr, 'reopen', 'Reopen')]
        : [];
  const html = `${core.site.apiUrl}/${core.site.owner}/${core.site.name}/pull/${pr.number}`;
  return [
    `<tr id="pull-${pr.number}" data-state="${state}">`,
    `<td>#${pr.number}</td>`,
    `<td>${esc(pr.title)}<br><small title="${esc(html)}">${esc(from)} → ${esc(pr.base)}${pr.headRepo ? ' <b>(fork)</b>' : ''}</small></td>`,
    `<td>${esc(pr.user.login)}</td>`,
    `<td>${state}</td>`,
    `<td><code>${pr.headSha.slice(0, 7)}</code></td>`,
    `<td class="deployment">${deploymentCell(core, pr)}${commentCell(core, pr)}</td>`,
    `<td class="actions">${actions.join('')}</td>`,
    '</tr>',
  ].join('');
}

/** The page: a note on what happened (or went wrong), the simulate form and every pull request. */
export function pullsPage(core: StandInCore, note?: { text: string; error: boolean }): string {
  const pulls = [...core.state.pulls].reverse();
  const { owner, name } = core.site;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${owner}/${name}`)} · GitHub stand-in</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.4rem;text-align:left;vertical-align:top}
form{display:inline}button{margin:0 .25rem .25rem 0;cursor:pointer}
.note{padding:.5rem .75rem;border-radius:6px;background:#dafbe1}.note.error{background:#ffebe9}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin-bottom:1.5rem}
pre.comment{white-space:pre-wrap;font-size:13px;margin:.25rem 0}
</style></head><body>
<h1>${esc(`${owner}/${name}`)} <small>(GitHub stand-in)</small></h1>
<p>lugh talks to this repository as to GitHub (${esc(core.site.apiUrl)}); here you act as its developers do on github.com, and GitHub's webhooks follow.</p>
${note ? `<p class="note${note.error ? ' error' : ''}" role="status" id="note">${esc(note.text)}</p>` : ''}
<fieldset><legend>Simulate a pull request</legend>
<form method="post" action="${PAGE_PATH}pulls" id="simulate">
<label>The app's greeting at / <input name="greeting" placeholder="Hello from pull request #n" maxlength="200"></label>
<label>into <input name="base" value="develop" size="10"></label>
<label><input type="checkbox" name="fork" value="1"> from a fork (never built automatically)</label>
<button type="submit">Simulate a PR</button>
</form></fieldset>
<h2>Pull requests <small><a href="${PAGE_PATH}" id="refresh">refresh</a></small></h2>
${
  pulls.length === 0
    ? '<p id="no-pulls">None yet.</p>'
    : `<table id="pulls"><thead><tr><th></th><th>title</th><th>author</th><th>state</th><th>head</th><th>deployment</th><th></th></tr></thead><tbody>${pulls.map((pr) => row(core, pr)).join('')}</tbody></table>`
}
</body></html>`;
}
