/**
 * The chat page script's actions: applying the live updates to the list, the status line,
 * toasts and alerts, pressing buttons, sending, and choosing a bot, a user, a chat (the
 * private one, or a group the bot is in: state.chat) and a command.
 * Spliced into the function in chat-page-script.ts, after chat-page-script-render.ts.
 */
export const chatPageActionsScript = String.raw`  function upsert(entry) {
    const known = state.messages.get(entry.message_id);
    if (entry.kind === 'bot_message' && entry.deleted) return remove(entry.message_id);
    const version = entry.kind === 'bot_message' ? entry.edits : 0;
    if (known && known.version === version) return;
    const node = messageNode(entry);
    if (known) {
      sizes.unobserve(known.node);
      known.node.replaceWith(node);
    } else list.append(node);
    sizes.observe(node);
    state.messages.set(entry.message_id, { node, version });
  }

  function remove(messageId) {
    const known = state.messages.get(messageId);
    if (!known) return;
    sizes.unobserve(known.node);
    known.node.remove();
    state.messages.delete(messageId);
  }

  // The chat stays at its newest message until the reader scrolls up, as in the apps: a
  // message that lands, grows (an edit, a late font) or a chat that shrinks keeps it there.
  // The jump is instant: a smooth scroll still running when the next message lands would
  // leave the page above it.
  const nearBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  function stickToBottom() {
    if (state.pinned) list.scrollTo({ top: list.scrollHeight, behavior: 'instant' });
  }
  const sizes = new ResizeObserver(stickToBottom);
  sizes.observe(list);
  list.addEventListener('scroll', () => { state.pinned = nearBottom(); }, { passive: true });

  function apply(update) {
    if (update.reset) {
      list.replaceChildren();
      state.messages.clear();
      state.pinned = true;
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
    stickToBottom();
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
    status.textContent = action ? actionWords[action] || action.replace(/_/g, ' ') + '\u2026' : state.chat ? 'group' : 'bot';
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
        bot: state.bot.handle, chatId: chatId(), messageId: entry.message_id,
        data: button.callback_data, from: sender(),
      });
      // Unanswered queries stop spinning after a while in the apps too.
      setTimeout(() => node.classList.remove('pending'), 10000);
    } catch (error) {
      node.classList.remove('pending');
      toast(error.message);
    }
  }

  // The chat on screen: a group the bot is in, else the private chat, whose id is the user's.
  const chatId = () => (state.chat ? state.chat.id : state.user.id);

  function sender() {
    const { label: _label, ...user } = state.user;
    return user;
  }

  async function send(text) {
    if (!state.bot || !text) return false;
    hideCommands();
    try {
      await api('/_sandbox/send', {
        bot: state.bot.handle, chat: state.chat || { id: state.user.id, type: 'private' }, from: sender(), text,
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
    const here = (bot, group) =>
      Boolean(state.bot && state.bot.handle === bot.handle) && (group ? state.chat && state.chat.id === group.id : !state.chat);
    const chatButton = (bot, group, name, handle) => el('button', {
      type: 'button', 'data-bot': group ? undefined : bot.handle, 'data-chat': group ? String(group.id) : undefined,
      'aria-pressed': String(here(bot, group)), onclick: () => choose(bot, state.user, group),
    }, [
      el('span', { class: 'avatar small', 'aria-hidden': 'true', text: initial(name) }),
      el('span', {}, [el('span', { class: 'name', text: name }), el('span', { class: 'handle', text: handle })]),
    ]);
    // Each bot's private chat, then each group it is in.
    nav.replaceChildren(...state.bots.flatMap((bot) => [
      chatButton(bot, undefined, bot.first_name, '@' + bot.username),
      ...(state.groups[bot.handle] || []).map((g) => chatButton(bot, g, g.title, 'group \u00b7 @' + bot.username)),
    ]));
  }

  function renderUserSwitch() {
    $('user-switch').replaceChildren(...users.map((user) => el('button', {
      type: 'button', 'data-user': user.label, 'aria-pressed': String(state.user.id === user.id),
      title: user.first_name + ' (id ' + user.id + ')',
      onclick: () => choose(state.bot, user, state.chat),
    }, [user.label])));
  }

  function choose(bot, user, chat) {
    const same = state.bot && bot && state.bot.handle === bot.handle && state.user.id === user.id;
    if (same && (state.chat && state.chat.id) === (chat && chat.id) && state.source) return;
    state.bot = bot;
    state.user = user;
    state.chat = chat;
    state.commands = [];
    renderBotSwitch();
    renderUserSwitch();
    if (state.source) state.source.close();
    state.source = undefined;
    list.replaceChildren();
    state.messages.clear();
    state.empty = undefined;
    state.pinned = true;
    setStatus();
    hideCommands();
    $('toast').hidden = true;
    $('alert').hidden = true;
    if (!bot) return;
    const title = chat ? chat.title : bot.first_name;
    $('chat-title').textContent = title;
    $('avatar').textContent = initial(title);
    composer.placeholder = 'Message as ' + user.first_name + ' (' + user.label + ')';
    const where = { bot: bot.handle, user: user.label };
    if (chat) where.chat = chat.id;
    history.replaceState(null, '', '#' + query(where));
    const source = new EventSource('/_sandbox/events?' + query({ bot: bot.handle, chatId: chatId() }));
    source.onmessage = (event) => apply(JSON.parse(event.data));
    source.onerror = () => { if (state.source === source) $('chat-status').textContent = 'connecting\u2026'; };
    source.onopen = () => setStatus();
    state.source = source;
  }

  async function loadBots() {
    try {
      state.bots = await api('/_sandbox/bots');
      const lists = await Promise.all(state.bots.map((b) => api('/_sandbox/groups?' + query({ bot: b.handle }))));
      state.groups = Object.fromEntries(state.bots.map((b, i) => [b.handle, lists[i]]));
    } catch (error) {
      toast(error.message);
      return;
    }
    const wanted = new URLSearchParams(location.hash.slice(1));
    const current = state.bot || { handle: wanted.get('bot') };
    const bot = state.bots.find((b) => b.handle === current.handle) || state.bots[0];
    const user = state.bot ? state.user : users.find((u) => u.label === wanted.get('user')) || state.user;
    const chatWanted = state.bot ? state.chat && state.chat.id : Number(wanted.get('chat'));
    const chat = bot && (state.groups[bot.handle] || []).find((g) => g.id === chatWanted);
    const missing = !state.bot && wanted.get('chat') && bot && !chat;
    if (bot) choose(bot, user, chat);
    renderBotSwitch();
    if (missing) {
      toast(bot.first_name + ' is in no group ' + wanted.get('chat') + '; showing its private chat (its groups have buttons after it)');
    }
  }

  function hideCommands() {
    $('commands').hidden = true;
  }

  async function suggestCommands() {
    const value = composer.value;
    if (!state.bot || !/^\/[a-z0-9_]*$/i.test(value)) return hideCommands();
    if (value === '/') {
      try {
        state.commands = await api('/_sandbox/commands?' + query({ bot: state.bot.handle, chatId: chatId() }));
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
`;
