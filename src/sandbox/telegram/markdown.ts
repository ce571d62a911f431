import { cantParseEntities } from './errors.js';
import type { FormattedText } from './html.js';
import type { MessageEntity } from './types.js';

const reservedV2 = '_*[]()~`>#+-=|{}.!';

interface OpenEntity {
  type: string;
  offset: number;
  byteOffset: number;
  language?: string;
}

const entityNameForError: Record<string, string> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  code: 'Code',
  pre: 'Pre',
  text_link: 'TextUrl',
  custom_emoji: 'CustomEmoji',
};

/** The MarkdownV2 parser's state: where it is in the source, and what it has made so far. */
interface V2State {
  readonly source: string;
  i: number;
  text: string;
  readonly open: OpenEntity[];
  readonly entities: MessageEntity[];
  /** Where the text of the blockquote being read starts, while inside one. */
  quoteStart: number | undefined;
}

const byteOffsetIn = (source: string, index: number): number =>
  Buffer.byteLength(source.slice(0, index), 'utf8');

const reservedError = (ch: string) =>
  cantParseEntities(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);

/**
 * Parses MarkdownV2 like the real server: every reserved character outside an entity
 * marker must be escaped, which is the mistake this stand-in exists to catch early.
 */
export function parseMarkdownV2(source: string): FormattedText {
  const state: V2State = { source, i: 0, text: '', open: [], entities: [], quoteStart: undefined };
  for (; state.i < source.length; state.i += 1) readV2Character(state);
  if (state.quoteStart !== undefined)
    pushEntity(state.entities, { type: 'blockquote', offset: state.quoteStart }, state.text.length);
  const unclosed = state.open.at(-1);
  if (unclosed) {
    const name = entityNameForError[unclosed.type] ?? unclosed.type;
    throw cantParseEntities(`Can't find end of ${name} entity at byte offset ${unclosed.byteOffset}`);
  }
  return { text: state.text, entities: state.entities };
}

/** Reads the character at the cursor (and any marker it starts); the caller then steps past it. */
function readV2Character(state: V2State): void {
  const { source, i } = state;
  const ch = source[i]!;
  const next = source[i + 1];
  const atLineStart = i === 0 || source[i - 1] === '\n';
  if (atLineStart && state.quoteStart !== undefined && ch !== '>') {
    // A blockquote is a run of '>' lines; it ends before the newline that ends the run.
    pushEntity(state.entities, { type: 'blockquote', offset: state.quoteStart }, state.text.length - 1);
    state.quoteStart = undefined;
  }
  if (ch === '\\' && next !== undefined && next.charCodeAt(0) <= 126) {
    state.text += next;
    state.i += 1;
    return;
  }
  const top = state.open.at(-1);
  const reserved = top?.type === 'code' || top?.type === 'pre' ? '`' : reservedV2;
  if (!reserved.includes(ch)) {
    state.text += ch;
    return;
  }
  if (ch === '>' && atLineStart && state.open.length === 0) {
    state.quoteStart ??= state.text.length;
    return;
  }
  if (top !== undefined && closes(top, source, i)) closeEntity(state);
  else openEntity(state);
}

/** Whether the marker at `i` closes the innermost open entity. */
function closes(top: OpenEntity, source: string, i: number): boolean {
  const ch = source[i];
  const next = source[i + 1];
  return (
    (top.type === 'bold' && ch === '*') ||
    (top.type === 'italic' && ch === '_' && next !== '_') ||
    (top.type === 'underline' && ch === '_' && next === '_') ||
    (top.type === 'strikethrough' && ch === '~') ||
    (top.type === 'spoiler' && ch === '|' && next === '|') ||
    (top.type === 'code' && ch === '`') ||
    (top.type === 'pre' && ch === '`' && next === '`' && source[i + 2] === '`') ||
    ((top.type === 'text_link' || top.type === 'custom_emoji') && ch === ']')
  );
}

/** Opens the entity whose marker is at the cursor, or refuses an unescaped reserved character. */
function openEntity(state: V2State): void {
  const { source } = state;
  const start = state.i;
  const ch = source[start]!;
  const next = source[start + 1];
  let type: string;
  let language: string | undefined;
  if (ch === '_') {
    type = next === '_' ? 'underline' : 'italic';
    if (next === '_') state.i += 1;
  } else if (ch === '*') type = 'bold';
  else if (ch === '~') type = 'strikethrough';
  else if (ch === '|' && next === '|') {
    type = 'spoiler';
    state.i += 1;
  } else if (ch === '[') type = 'text_link';
  else if (ch === '!' && next === '[') {
    type = 'custom_emoji';
    state.i += 1;
  } else if (ch === '`' && next === '`' && source[start + 2] === '`') {
    type = 'pre';
    language = readPreOpening(state);
  } else if (ch === '`') type = 'code';
  else throw reservedError(ch);
  state.open.push({
    type,
    offset: state.text.length,
    byteOffset: byteOffsetIn(source, start),
    ...(language ? { language } : {}),
  });
}

/** Steps over a pre block's opening ``` (its language, if any, and one newline); returns the language. */
function readPreOpening(state: V2State): string | undefined {
  const { source } = state;
  let language: string | undefined;
  let i = state.i + 3;
  let languageEnd = i;
  while (languageEnd < source.length && !/\s/.test(source[languageEnd]!) && source[languageEnd] !== '`') {
    languageEnd += 1;
  }
  if (languageEnd !== i && languageEnd < source.length && source[languageEnd] !== '`') {
    language = source.slice(i, languageEnd);
    i = languageEnd;
  }
  // One newline right after the opening marker (and language) belongs to the marker.
  if (source[i] === '\r' && source[i + 1] === '\n') i += 2;
  else if (source[i] === '\n' || source[i] === '\r') i += 1;
  state.i = i - 1;
  return language;
}

/** Closes the innermost open entity at the marker under the cursor. */
function closeEntity(state: V2State): void {
  const entity = state.open.pop()!;
  if (entity.type === 'underline' || entity.type === 'spoiler') state.i += 1;
  if (entity.type === 'pre') state.i += 2;
  const url =
    entity.type === 'text_link' || entity.type === 'custom_emoji' ? readLinkTarget(state, entity) : undefined;
  const made = pushEntity(state.entities, entity, state.text.length);
  if (made && url !== undefined) {
    if (made.type === 'custom_emoji') made.custom_emoji_id = url.replace(/^tg:\/\/emoji\?id=/, '');
    else made.url = url;
  }
}

/** The `(url)` after a link's `]` (escapes undone), else the link's own text. */
function readLinkTarget(state: V2State, entity: OpenEntity): string {
  const { source } = state;
  if (source[state.i + 1] !== '(') return state.text.slice(entity.offset);
  state.i += 2;
  const urlStart = state.i;
  let url = '';
  while (state.i < source.length && source[state.i] !== ')') {
    if (source[state.i] === '\\' && source[state.i + 1] !== undefined) {
      url += source[state.i + 1];
      state.i += 2;
    } else {
      url += source[state.i];
      state.i += 1;
    }
  }
  if (source[state.i] !== ')')
    throw cantParseEntities(`Can't find end of a URL at byte offset ${byteOffsetIn(source, urlStart)}`);
  return url;
}

/** Parses the legacy Markdown mode: *bold*, _italic_, `code`, ```pre```, [text](url). */
export function parseMarkdown(source: string): FormattedText {
  const entities: MessageEntity[] = [];
  let text = '';
  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i]!;
    if (ch === '\\' && '_*`['.includes(source[i + 1] ?? ' ')) {
      text += source[i + 1];
      i += 1;
      continue;
    }
    if (!'_*`['.includes(ch)) {
      text += ch;
      continue;
    }
    const start = i;
    const isPre = ch === '`' && source[i + 1] === '`' && source[i + 2] === '`';
    const end = ch === '[' ? ']' : ch;
    i += isPre ? 3 : 1;
    let language: string | undefined;
    if (isPre) {
      const newline = source.indexOf('\n', i);
      const firstLine = newline === -1 ? '' : source.slice(i, newline);
      if (newline !== -1 && /^[A-Za-z0-9+#-]+$/.test(firstLine)) {
        language = firstLine;
        i = newline + 1;
      }
    }
    const offset = text.length;
    while (i < source.length && (source[i] !== end || (isPre && !source.startsWith('```', i)))) {
      text += source[i];
      i += 1;
    }
    if (i >= source.length) {
      throw cantParseEntities(
        `Can't find end of the entity starting at byte offset ${Buffer.byteLength(source.slice(0, start))}`,
      );
    }
    if (isPre) i += 2;
    const type = isPre
      ? 'pre'
      : ch === '_'
        ? 'italic'
        : ch === '*'
          ? 'bold'
          : ch === '`'
            ? 'code'
            : 'text_link';
    const entity = pushEntity(entities, { type, offset, ...(language ? { language } : {}) }, text.length);
    if (type === 'text_link') {
      const close = source[i + 1] === '(' ? source.indexOf(')', i + 2) : -1;
      const url = close === -1 ? text.slice(offset) : source.slice(i + 2, close);
      if (close !== -1) i = close;
      if (entity) entity.url = url;
    }
  }
  return { text, entities };
}

function pushEntity(
  entities: MessageEntity[],
  open: { type: string; offset: number; language?: string },
  end: number,
): MessageEntity | undefined {
  const length = end - open.offset;
  if (length <= 0) return undefined;
  const entity: MessageEntity = { type: open.type, offset: open.offset, length };
  if (open.language) entity.language = open.language;
  entities.push(entity);
  return entity;
}
