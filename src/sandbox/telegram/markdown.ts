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

/**
 * Parses MarkdownV2 like the real server: every reserved character outside an entity
 * marker must be escaped, which is the mistake this stand-in exists to catch early.
 */
export function parseMarkdownV2(source: string): FormattedText {
  const byteOffset = (index: number): number => Buffer.byteLength(source.slice(0, index), 'utf8');
  const reservedError = (ch: string) =>
    cantParseEntities(`Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
  const open: OpenEntity[] = [];
  const entities: MessageEntity[] = [];
  let text = '';
  let quoteStart: number | undefined;

  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i]!;
    const next = source[i + 1];
    const atLineStart = i === 0 || source[i - 1] === '\n';
    if (atLineStart && quoteStart !== undefined && ch !== '>') {
      // A blockquote is a run of '>' lines; it ends before the newline that ends the run.
      pushEntity(entities, { type: 'blockquote', offset: quoteStart }, text.length - 1);
      quoteStart = undefined;
    }
    if (ch === '\\' && next !== undefined && next.charCodeAt(0) <= 126) {
      text += next;
      i += 1;
      continue;
    }
    const top = open.at(-1);
    const reserved = top?.type === 'code' || top?.type === 'pre' ? '`' : reservedV2;
    if (!reserved.includes(ch)) {
      text += ch;
      continue;
    }
    if (ch === '>' && atLineStart && open.length === 0) {
      quoteStart ??= text.length;
      continue;
    }
    const closes =
      top !== undefined &&
      ((top.type === 'bold' && ch === '*') ||
        (top.type === 'italic' && ch === '_' && next !== '_') ||
        (top.type === 'underline' && ch === '_' && next === '_') ||
        (top.type === 'strikethrough' && ch === '~') ||
        (top.type === 'spoiler' && ch === '|' && next === '|') ||
        (top.type === 'code' && ch === '`') ||
        (top.type === 'pre' && ch === '`' && next === '`' && source[i + 2] === '`') ||
        ((top.type === 'text_link' || top.type === 'custom_emoji') && ch === ']'));
    if (!closes) {
      const start = i;
      let type: string;
      let language: string | undefined;
      if (ch === '_') {
        type = next === '_' ? 'underline' : 'italic';
        if (next === '_') i += 1;
      } else if (ch === '*') type = 'bold';
      else if (ch === '~') type = 'strikethrough';
      else if (ch === '|' && next === '|') {
        type = 'spoiler';
        i += 1;
      } else if (ch === '[') type = 'text_link';
      else if (ch === '!' && next === '[') {
        type = 'custom_emoji';
        i += 1;
      } else if (ch === '`' && next === '`' && source[i + 2] === '`') {
        type = 'pre';
        i += 3;
        let languageEnd = i;
        while (
          languageEnd < source.length &&
          !/\s/.test(source[languageEnd]!) &&
          source[languageEnd] !== '`'
        ) {
          languageEnd += 1;
        }
        if (languageEnd !== i && languageEnd < source.length && source[languageEnd] !== '`') {
          language = source.slice(i, languageEnd);
          i = languageEnd;
        }
        // One newline right after the opening marker (and language) belongs to the marker.
        if (source[i] === '\r' && source[i + 1] === '\n') i += 2;
        else if (source[i] === '\n' || source[i] === '\r') i += 1;
        i -= 1;
      } else if (ch === '`') type = 'code';
      else throw reservedError(ch);
      open.push({
        type,
        offset: text.length,
        byteOffset: byteOffset(start),
        ...(language ? { language } : {}),
      });
      continue;
    }
    const entity = open.pop()!;
    if (entity.type === 'underline' || entity.type === 'spoiler') i += 1;
    if (entity.type === 'pre') i += 2;
    let url: string | undefined;
    if (entity.type === 'text_link' || entity.type === 'custom_emoji') {
      if (source[i + 1] === '(') {
        i += 2;
        const urlStart = i;
        url = '';
        while (i < source.length && source[i] !== ')') {
          if (source[i] === '\\' && source[i + 1] !== undefined) {
            url += source[i + 1];
            i += 2;
          } else {
            url += source[i];
            i += 1;
          }
        }
        if (source[i] !== ')')
          throw cantParseEntities(`Can't find end of a URL at byte offset ${byteOffset(urlStart)}`);
      } else {
        url = text.slice(entity.offset);
      }
    }
    const made = pushEntity(entities, entity, text.length);
    if (made && url !== undefined) {
      if (made.type === 'custom_emoji') made.custom_emoji_id = url.replace(/^tg:\/\/emoji\?id=/, '');
      else made.url = url;
    }
  }
  if (quoteStart !== undefined) pushEntity(entities, { type: 'blockquote', offset: quoteStart }, text.length);
  const unclosed = open.at(-1);
  if (unclosed) {
    const name = entityNameForError[unclosed.type] ?? unclosed.type;
    throw cantParseEntities(`Can't find end of ${name} entity at byte offset ${unclosed.byteOffset}`);
  }
  return { text, entities };
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
