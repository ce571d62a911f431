import { cantParseEntities } from './errors.js';
import type { MessageEntity } from './types.js';

/** Text with its entities, offsets in UTF-16 code units as the Bot API counts them. */
export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

const entityTypeOfTag: Record<string, string> = {
  a: 'text_link',
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  span: 'spoiler',
  'tg-spoiler': 'spoiler',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
};

const namedEntities: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

interface OpenTag {
  tag: string;
  offset: number;
  argument: string;
  expandable: boolean;
}

const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r';

/**
 * Parses Telegram's HTML parse mode the way the real server (tdlib's parse_html) does,
 * including its error messages and their UTF-8 byte offsets.
 */
export function parseHtml(source: string): FormattedText {
  const byteOffset = (index: number): number => Buffer.byteLength(source.slice(0, index), 'utf8');
  const open: OpenTag[] = [];
  const entities: MessageEntity[] = [];
  let text = '';
  let i = 0;

  while (i < source.length) {
    const ch = source[i]!;
    if (ch === '&') {
      const decoded = decodeEntity(source, i);
      if (decoded) {
        text += decoded.value;
        i = decoded.end;
        continue;
      }
    }
    if (ch !== '<') {
      text += ch;
      i += 1;
      continue;
    }

    const tagStart = i;
    if (source[i + 1] !== '/') {
      i += 1;
      const nameStart = i;
      while (i < source.length && !isSpace(source[i]) && source[i] !== '>') i += 1;
      if (i >= source.length)
        throw cantParseEntities(`Unclosed start tag at byte offset ${byteOffset(tagStart)}`);
      const tag = source.slice(nameStart, i).toLowerCase();
      if (!(tag in entityTypeOfTag)) {
        throw cantParseEntities(`Unsupported start tag "${tag}" at byte offset ${byteOffset(tagStart)}`);
      }
      let argument = '';
      let expandable = false;
      while (source[i] !== '>') {
        while (isSpace(source[i])) i += 1;
        if (source[i] === '>') break;
        const attributeStart = i;
        while (i < source.length && !isSpace(source[i]) && source[i] !== '=' && source[i] !== '>') i += 1;
        const attribute = source.slice(attributeStart, i).toLowerCase();
        if (attribute.length === 0) {
          throw cantParseEntities(
            `Empty attribute name in the tag "${tag}" at byte offset ${byteOffset(attributeStart)}`,
          );
        }
        while (isSpace(source[i])) i += 1;
        if (tag === 'blockquote' && attribute === 'expandable' && source[i] !== '=') {
          expandable = true;
          continue;
        }
        if (source[i] !== '=') {
          if (i >= source.length) {
            throw cantParseEntities(`Unclosed start tag "${tag}" at byte offset ${byteOffset(tagStart)}`);
          }
          throw cantParseEntities(
            `Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${byteOffset(attributeStart)}`,
          );
        }
        i += 1;
        while (isSpace(source[i])) i += 1;
        if (i >= source.length) {
          throw cantParseEntities(`Unclosed start tag "${tag}" at byte offset ${byteOffset(tagStart)}`);
        }
        let value = '';
        const quote = source[i];
        if (quote === '"' || quote === "'") {
          i += 1;
          while (i < source.length && source[i] !== quote) {
            const decoded = source[i] === '&' ? decodeEntity(source, i) : undefined;
            if (decoded) {
              value += decoded.value;
              i = decoded.end;
            } else {
              value += source[i];
              i += 1;
            }
          }
          if (source[i] !== quote) {
            throw cantParseEntities(
              `Unclosed end of an attribute value in the tag "${tag}" at byte offset ${byteOffset(attributeStart)}`,
            );
          }
          i += 1;
        } else {
          const valueStart = i;
          while (i < source.length && /[A-Za-z0-9.-]/.test(source[i]!)) i += 1;
          value = source.slice(valueStart, i);
          if (value.length === 0) {
            throw cantParseEntities(
              `Expected quote in declaration of an attribute of the tag "${tag}" at byte offset ${byteOffset(valueStart)}`,
            );
          }
        }
        if (
          (tag === 'a' && attribute === 'href') ||
          (tag === 'code' && attribute === 'class' && value.startsWith('language-')) ||
          (tag === 'span' && attribute === 'class') ||
          (tag === 'tg-emoji' && attribute === 'emoji-id')
        ) {
          argument = tag === 'code' ? value.slice('language-'.length) : value;
        }
      }
      if (tag === 'span' && argument !== 'tg-spoiler') {
        throw cantParseEntities(
          `Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(tagStart)}`,
        );
      }
      if (tag === 'tg-emoji' && !/^\d+$/.test(argument)) {
        throw cantParseEntities(
          `Custom emoji entity must contain a valid custom emoji identifier at byte offset ${byteOffset(tagStart)}`,
        );
      }
      open.push({ tag, offset: text.length, argument, expandable });
      i += 1;
      continue;
    }

    if (open.length === 0)
      throw cantParseEntities(`Unexpected end tag at byte offset ${byteOffset(tagStart)}`);
    i += 2;
    const nameStart = i;
    while (i < source.length && !isSpace(source[i]) && source[i] !== '>') i += 1;
    const endTag = source.slice(nameStart, i).toLowerCase();
    while (isSpace(source[i])) i += 1;
    if (source[i] !== '>') throw cantParseEntities(`Unclosed end tag at byte offset ${byteOffset(tagStart)}`);
    i += 1;
    const current = open.pop()!;
    if (endTag.length > 0 && endTag !== current.tag) {
      throw cantParseEntities(
        `Unmatched end tag at byte offset ${byteOffset(tagStart)}, expected "</${current.tag}>", found "</${endTag}>"`,
      );
    }
    const entity = toEntity(current, text.length);
    if (entity) {
      // <pre><code class="language-x"> is one pre entity with a language, not two entities.
      const inner = entity.type === 'pre' ? entities.at(-1) : undefined;
      if (inner?.type === 'code' && inner.offset === entity.offset && inner.length === entity.length) {
        entities.pop();
        if (inner.language) entity.language = inner.language;
      }
      entities.push(entity);
    }
  }
  const unclosed = open.at(-1);
  if (unclosed) throw cantParseEntities(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  return { text, entities };
}

function toEntity(tag: OpenTag, end: number): MessageEntity | undefined {
  const length = end - tag.offset;
  if (length <= 0) return undefined;
  const type = entityTypeOfTag[tag.tag]!;
  const entity: MessageEntity = { type, offset: tag.offset, length };
  if (type === 'text_link') {
    if (!tag.argument) return undefined;
    entity.url = tag.argument;
  }
  if (type === 'code' && tag.argument) entity.language = tag.argument;
  if (type === 'custom_emoji') entity.custom_emoji_id = tag.argument;
  if (type === 'blockquote' && tag.expandable) entity.type = 'expandable_blockquote';
  return entity;
}

/** Decodes &lt; &gt; &amp; &quot; and numeric references; anything else stays a literal '&'. */
function decodeEntity(source: string, at: number): { value: string; end: number } | undefined {
  const semicolon = source.indexOf(';', at + 1);
  if (semicolon === -1 || semicolon - at > 10) return undefined;
  const name = source.slice(at + 1, semicolon);
  const named = namedEntities[name];
  if (named) return { value: named, end: semicolon + 1 };
  const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(name);
  if (!numeric) return undefined;
  const code = numeric[1] ? Number.parseInt(numeric[1], 16) : Number(numeric[2]);
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
  return { value: String.fromCodePoint(code), end: semicolon + 1 };
}
