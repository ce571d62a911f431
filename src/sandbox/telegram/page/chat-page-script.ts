/**
 * The page's script, run by the browser as it is (no bundler: the stand-in depends on node
 * built-ins only). Bot text is only ever placed with text nodes, never as markup: the
 * formatting comes from the message entities.
 */
export const chatPageScript = String.raw`
'use strict';
(() => {
  const users = JSON.parse(document.getElementById('page-users').textContent);
  const $ = (id) => document.getElementById(id);
  const list = $('messages');
  const composer = $('composer');
  const state = {
    bots: [], bot: undefined, user: users[0], source: undefined,
    messages: new Map(), empty: undefined, commands: [], statusTimer: 0, toastTimer: 0,
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

  // Only links a person could follow anyway; never javascript: or data:.
  function safeHref(raw) {
    try {
      const withScheme = /^[a-z][a-z0-9+.-]*:/i.test(raw) ? raw : 'http://' + raw;
      const url = new URL(withScheme);
      return ['http:', 'https:', 'mailto:', 'tel:'].includes(url.protocol) ? url.href : undefined;
    } catch {
      return undefined;
    }
  }

  function entityNode(entity, slice) {
    switch (entity.type) {
      case 'bold': return el('b');
      case 'italic': return el('i');
      case 'underline': return el('u');
      case 'strikethrough': return el('s');
      case 'code': return el('code');
      case 'pre': {
        const code = el('code', { 'data-language': entity.language });
        return { outer: el('pre', {}, [code]), inner: code };
      }
      case 'blockquote':
      case 'expandable_blockquote': return el('blockquote');
      case 'spoiler': {
        const node = el('span', { class: 'spoiler', tabindex: '0', title: 'Spoiler: tap to reveal' });
        const reveal = () => node.classList.add('revealed');
        node.addEventListener('click', reveal);
        node.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') reveal(); });
        return node;
      }
      case 'text_link':
      case 'url': {
        const href = safeHref(entity.type === 'url' ? slice : entity.url || '');
        return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }) : el('span');
      }
      case 'email': return el('a', { href: 'mailto:' + slice });
      case 'bot_command':
        return el('button', { type: 'button', class: 'command', onclick: () => send(slice) });
      default: return el('span', { class: 'entity-' + String(entity.type).replace(/[^a-z_]/g, '') });
    }
  }

  // Entities nest (bold inside a link...); each one wraps the text and entities inside it.
  function renderFormatted(text, entities, into) {
    const sorted = (entities || [])
      .filter((e) => Number.isInteger(e.offset) && Number.isInteger(e.length) && e.length > 0)
      .slice()
      .sort((a, b) => a.offset - b.offset || b.length - a.length);
    let next = 0;
    const walk = (start, end, parent) => {
      let pos = start;
      while (next < sorted.length && sorted[next].offset < end) {
        const entity = sorted[next++];
        const from = Math.max(entity.offset, pos);
        const to = Math.min(entity.offset + entity.length, end);
        if (to <= from) continue;
        if (from > pos) parent.append(text.slice(pos, from));
        const made = entityNode(entity, text.slice(from, to));
        const outer = made.outer || made;
        walk(from, to, made.inner || made);
        parent.append(outer);
        pos = to;
      }
      if (end > pos) parent.append(text.slice(pos, end));
    };
    walk(0, text.length, into);
    return into;
  }

  function timeOf(date) {
    return new Date(date * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function sizeOf(bytes) {
    if (bytes < 1024) return bytes + ' B';
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + ' KB';
    return (bytes / 1024 / 1024).toFixed(1) + ' MB';
  }

  function documentIcon() {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '22');
    svg.setAttribute('height', '22');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', 'M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5z');
    svg.append(path);
    return el('span', { class: 'icon', 'aria-hidden': 'true' }, [svg]);
  }

  function messageNode(entry) {
    const fromBot = entry.kind === 'bot_message';
    const bubble = el('div', {
      class: 'bubble', 'data-testid': 'message', 'data-message-id': entry.message_id,
      'data-from': fromBot ? 'bot' : 'user', 'data-edits': fromBot ? entry.edits : 0,
    });
    if (entry.document) {
      const doc = entry.document;
      bubble.append(el('a', { class: 'doc', href: doc.url, download: doc.file_name || 'document', 'data-testid': 'document' }, [
        documentIcon(),
        el('span', {}, [
          el('span', { class: 'file', text: doc.file_name || 'document' }),
          el('br'),
          el('span', { class: 'size', text: sizeOf(doc.file_size || 0) + ' \u00B7 download' }),
        ]),
      ]));
    }
    const meta = el('span', { class: 'meta' }, [
      fromBot && entry.edits > 0 ? el('span', { class: 'edited', 'data-testid': 'edited', text: 'edited' }) : undefined,
      el('time', { text: timeOf(entry.date) }),
      fromBot ? undefined : el('span', { 'aria-hidden': 'true', text: ' \u2713\u2713' }),
    ]);
    if (entry.text) bubble.append(renderFormatted(entry.text, entry.entities, el('div', { class: 'text' })));
    bubble.append(meta);
    const msg = el('div', { class: 'msg' }, [bubble]);
    const rows = entry.reply_markup && entry.reply_markup.inline_keyboard;
    if (rows && rows.length > 0) {
      msg.append(el('div', { class: 'keyboard' }, rows.map((row) => el('div', { class: 'kb-row' }, row.map((button) =>
        el('button', {
          type: 'button', class: 'kb-btn', 'data-testid': 'inline-button',
          onclick: (event) => press(entry, button, event.currentTarget),
        }, [button.text, button.url ? el('span', { class: 'link', 'aria-label': '(opens a link)', text: '\u2197' }) : undefined]))))));
    }
    return el('div', { class: fromBot ? 'row in' : 'row out' }, [msg]);
  }

  function upsert(entry) {
    const known = state.messages.get(entry.message_id);
    if (entry.kind === 'bot_message' && entry.deleted) return remove(entry.message_id);
    const version = entry.kind === 'bot_message' ? entry.edits : 0;
    if (known && known.version === version) return;
    const node = messageNode(entry);
    if (known) known.node.replaceWith(node);
    else list.append(node);
    state.messages.set(entry.message_id, { node, version });
  }

  function remove(messageId) {
    const known = state.messages.get(messageId);
    if (!known) return;
    known.node.remove();
    state.messages.delete(messageId);
  }

  function apply(update) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    if (update.reset) {
      list.replaceChildren();
      state.messages.clear();
    }
    for (const entry of update.entries) {
      switch (entry.kind) {
        case 'user_message': upsert(entry); break;
        case 'bot_message': upsert(entry); if (!update.reset) setStatus(); break;
        case 'deletion': remove(entry.message_id); break;
        case 'callback_answer':
          for (const node of list.querySelectorAll('.kb-btn.pending')) node.classList.remove('pending');
          if (!update.reset) answer(entry);
          break;
        case 'chat_action': if (!update.reset) setStatus(entry.action); break;
        default: break;
      }
    }
    showEmptyState();
    if (update.reset || atBottom) list.scrollTop = list.scrollHeight;
  }

  function showEmptyState() {
    const empty = state.messages.size === 0 && state.bot;
    if (!empty) {
      if (state.empty) state.empty.remove();
      state.empty = undefined;
      return;
    }
    if (state.empty) return;
    state.empty = el('div', { class: 'empty-chat', 'data-testid': 'empty-chat' }, [
      el('strong', { text: state.bot.first_name }),
      el('p', { text: 'No messages here yet. You are writing as ' + state.user.first_name + ' (' + state.user.label + ').' }),
      el('button', { type: 'button', class: 'start', text: 'START', onclick: () => send('/start') }),
    ]);
    list.append(state.empty);
  }

  const actionWords = {
    typing: 'typing\u2026', upload_document: 'sending a file\u2026', upload_photo: 'sending a photo\u2026',
    record_voice: 'recording a voice message\u2026', choose_sticker: 'choosing a sticker\u2026',
  };

  // A chat action lasts five seconds or until the bot's next message, as in the apps.
  function setStatus(action) {
    clearTimeout(state.statusTimer);
    const status = $('chat-status');
    status.classList.toggle('active', Boolean(action));
    status.textContent = action ? actionWords[action] || action.replace(/_/g, ' ') + '\u2026' : 'bot';
    if (action) state.statusTimer = setTimeout(() => setStatus(), 5000);
  }

  function toast(text) {
    const box = $('toast');
    box.textContent = text;
    box.hidden = false;
    clearTimeout(state.toastTimer);
    state.toastTimer = setTimeout(() => { box.hidden = true; }, 3000);
  }

  function alertBox(text) {
    $('alert-text').textContent = text;
    $('alert').hidden = false;
    $('alert-ok').focus();
  }

  function answer(entry) {
    if (entry.text && entry.show_alert) alertBox(entry.text);
    else if (entry.text) toast(entry.text);
    if (entry.url) toast('The bot asked to open ' + entry.url);
  }

  async function press(entry, button, node) {
    if (button.callback_data === undefined) {
      const href = button.url && safeHref(button.url);
      if (href) window.open(href, '_blank', 'noopener');
      else toast('This kind of button does not work in the sandbox');
      return;
    }
    node.classList.add('pending');
    try {
      await api('/_sandbox/press', {
        bot: state.bot.handle, chatId: state.user.id, messageId: entry.message_id,
        data: button.callback_data, from: sender(),
      });
      // Unanswered queries stop spinning after a while in the apps too.
      setTimeout(() => node.classList.remove('pending'), 10000);
    } catch (error) {
      node.classList.remove('pending');
      toast(error.message);
    }
  }

  function sender() {
    const { label: _label, ...user } = state.user;
    return user;
  }

  async function send(text) {
    if (!state.bot || !text) return false;
    hideCommands();
    try {
      await api('/_sandbox/send', {
        bot: state.bot.handle, chat: { id: state.user.id, type: 'private' }, from: sender(), text,
      });
      return true;
    } catch (error) {
      toast(error.message);
      return false;
    }
  }

  function renderBotSwitch() {
    const nav = $('bot-switch');
    if (state.bots.length === 0) {
      nav.replaceChildren(el('span', { class: 'empty', text: 'No bot registered yet\u2026' }));
      return;
    }
    nav.replaceChildren(...state.bots.map((bot) => el('button', {
      type: 'button', 'data-bot': bot.handle, 'aria-pressed': String(state.bot && state.bot.handle === bot.handle),
      onclick: () => choose(bot, state.user),
    }, [
      el('span', { class: 'avatar small', 'aria-hidden': 'true', text: initial(bot.first_name) }),
      el('span', {}, [el('span', { class: 'name', text: bot.first_name }), el('span', { class: 'handle', text: '@' + bot.username })]),
    ])));
  }

  function renderUserSwitch() {
    $('user-switch').replaceChildren(...users.map((user) => el('button', {
      type: 'button', 'data-user': user.label, 'aria-pressed': String(state.user.id === user.id),
      title: user.first_name + ' (id ' + user.id + ')',
      onclick: () => choose(state.bot, user),
    }, [user.label])));
  }

  function choose(bot, user) {
    if (state.bot && bot && state.bot.handle === bot.handle && state.user.id === user.id && state.source) return;
    state.bot = bot;
    state.user = user;
    state.commands = [];
    renderBotSwitch();
    renderUserSwitch();
    if (state.source) state.source.close();
    state.source = undefined;
    list.replaceChildren();
    state.messages.clear();
    state.empty = undefined;
    setStatus();
    hideCommands();
    $('toast').hidden = true;
    $('alert').hidden = true;
    if (!bot) return;
    $('chat-title').textContent = bot.first_name;
    $('avatar').textContent = initial(bot.first_name);
    composer.placeholder = 'Message as ' + user.first_name + ' (' + user.label + ')';
    history.replaceState(null, '', '#' + query({ bot: bot.handle, user: user.label }));
    const source = new EventSource('/_sandbox/events?' + query({ bot: bot.handle, chatId: user.id }));
    source.onmessage = (event) => apply(JSON.parse(event.data));
    source.onerror = () => { if (state.source === source) $('chat-status').textContent = 'connecting\u2026'; };
    source.onopen = () => setStatus();
    state.source = source;
  }

  async function loadBots() {
    try {
      state.bots = await api('/_sandbox/bots');
    } catch (error) {
      toast(error.message);
      return;
    }
    const wanted = new URLSearchParams(location.hash.slice(1));
    const current = state.bot || { handle: wanted.get('bot') };
    const bot = state.bots.find((b) => b.handle === current.handle) || state.bots[0];
    const user = state.bot ? state.user : users.find((u) => u.label === wanted.get('user')) || state.user;
    if (bot) choose(bot, user);
    renderBotSwitch();
  }

  function hideCommands() {
    $('commands').hidden = true;
  }

  async function suggestCommands() {
    const value = composer.value;
    if (!state.bot || !/^\/[a-z0-9_]*$/i.test(value)) return hideCommands();
    if (value === '/') {
      try {
        state.commands = await api('/_sandbox/commands?' + query({ bot: state.bot.handle, chatId: state.user.id }));
      } catch {
        state.commands = [];
      }
    }
    const matching = state.commands.filter((c) => ('/' + c.command).startsWith(composer.value.toLowerCase()));
    const box = $('commands');
    box.replaceChildren(...matching.map((c) => el('button', {
      type: 'button', 'data-testid': 'command-suggestion',
      onclick: () => { composer.value = ''; send('/' + c.command); composer.focus(); },
    }, [el('span', { class: 'cmd', text: '/' + c.command }), el('span', { class: 'desc', text: c.description })])));
    box.hidden = matching.length === 0;
  }

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
