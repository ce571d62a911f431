/**
 * The chat page script's rendering: message entities, bubbles, documents and inline keyboards
 * as DOM nodes. Spliced into the function in chat-page-script.ts, whose el() it uses; the
 * buttons it makes call send() and press() from chat-page-script-actions.ts.
 */
export const chatPageRenderScript = String.raw`  // Only links a person could follow anyway; never javascript: or data:.
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
    if (entry.photo) {
      bubble.append(el('img', {
        class: 'photo', src: entry.photo.url, alt: 'photo', 'data-testid': 'photo',
        width: entry.photo.width, height: entry.photo.height,
      }));
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
`;
