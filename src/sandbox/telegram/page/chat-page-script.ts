import { chatPageActionsScript } from './chat-page-script-actions.js';
import { chatPageRenderScript } from './chat-page-script-render.js';

/**
 * The page's script, run by the browser as it is (no bundler: the stand-in depends on node
 * built-ins only). Bot text is only ever placed with text nodes, never as markup: the
 * formatting comes from the message entities. It is one function in three parts sharing its
 * scope: the state, basics and event wiring here, the rendering and the actions spliced in.
 */
export const chatPageScript = `
'use strict';
(() => {
  const users = JSON.parse(document.getElementById('page-users').textContent);
  const $ = (id) => document.getElementById(id);
  const list = $('messages');
  const composer = $('composer');
  const state = {
    bots: [], groups: {}, bot: undefined, user: users[0], chat: undefined, source: undefined,
    messages: new Map(), empty: undefined, commands: [], statusTimer: 0, toastTimer: 0, pinned: true,
  };

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children || []) if (child !== undefined && child !== null) node.append(child);
    return node;
  }

  async function api(path, body) {
    const init = body === undefined ? {} : {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    };
    const res = await fetch(path, init);
    const json = await res.json().catch(() => ({ ok: false, error: 'HTTP ' + res.status }));
    if (!json.ok) throw new Error(json.error || 'HTTP ' + res.status);
    return json.result;
  }

  const query = (params) => new URLSearchParams(params).toString();
  const initial = (name) => (name || '?').trim().charAt(0).toUpperCase() || '?';

${chatPageRenderScript}
${chatPageActionsScript}
  $('composer-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = composer.value;
    if (!text.trim()) return;
    if (await send(text)) composer.value = '';
  });
  composer.addEventListener('input', suggestCommands);
  composer.addEventListener('keydown', (event) => { if (event.key === 'Escape') hideCommands(); });
  $('alert-ok').addEventListener('click', () => { $('alert').hidden = true; composer.focus(); });
  window.addEventListener('focus', loadBots);

  renderUserSwitch();
  loadBots();
})();
`;
