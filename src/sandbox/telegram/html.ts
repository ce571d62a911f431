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

/** Where the parser is in the source, and how the real server reports a position there. */
class Cursor {
  i = 0;
  constructor(readonly source: string) {}

  get ch(): string | undefined {
    return this.source[this.i];
  }

  get done(): boolean {
    return this.i >= this.source.length;
  }

  skipSpaces(): void {
    while (isSpace(this.source[this.i])) this.i += 1;
  }

  /** The UTF-8 byte offset of a source index, as tdlib's error messages give it. */
  byteOffset(index: number): number {
    return Buffer.byteLength(this.source.slice(0, index), 'utf8');
  }
}

/**
 * Parses Telegram's HTML parse mode the way the real server (tdlib's parse_html) does,
 * including its error messages and their UTF-8 byte offsets.
 */
export function parseHtml(source: string): FormattedText {
  const at = new Cursor(source);
  const open: OpenTag[] = [];
  const entities: MessageEntity[] = [];
  let text = '';

  while (!at.done) {
    const ch = at.ch!;
    if (ch === '&') {
      const decoded = decodeEntity(source, at.i);
      if (decoded) {
        text += decoded.value;
        at.i = decoded.end;
        continue;
      }
    }
    if (ch !== '<') {
      text += ch;
      at.i += 1;
      continue;
    }
    if (source[at.i + 1] !== '/') open.push(readStartTag(at, text.length));
    else addEntity(entities, readEndTag(at, open), text.length);
  }
  const unclosed = open.at(-1);
  if (unclosed) throw cantParseEntities(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  return { text, entities };
}

/** Reads `<tag attribute="value" ...>` at the cursor into the tag it opens at `offset` of the text. */
function readStartTag(at: Cursor, offset: number): OpenTag {
  const tagStart = at.i;
  at.i += 1;
  const nameStart = at.i;
  while (!at.done && !isSpace(at.ch) && at.ch !== '>') at.i += 1;
  if (at.done) throw cantParseEntities(`Unclosed start tag at byte offset ${at.byteOffset(tagStart)}`);
  const tag = at.source.slice(nameStart, at.i).toLowerCase();
  if (!(tag in entityTypeOfTag)) {
    throw cantParseEntities(`Unsupported start tag "${tag}" at byte offset ${at.byteOffset(tagStart)}`);
  }
  let argument = '';
  let expandable = false;
  while (at.ch !== '>') {
    at.skipSpaces();
    if (at.ch === '>') break;
    const attribute = readAttribute(at, tag, tagStart);
    if ('expandable' in attribute) {
      expandable = true;
      continue;
    }
    argument = argumentOf(tag, attribute.name, attribute.value) ?? argument;
  }
  if (tag === 'span' && argument !== 'tg-spoiler') {
    throw cantParseEntities(
      `Tag "span" must have class "tg-spoiler" at byte offset ${at.byteOffset(tagStart)}`,
    );
  }
  if (tag === 'tg-emoji' && !/^\d+$/.test(argument)) {
    throw cantParseEntities(
      `Custom emoji entity must contain a valid custom emoji identifier at byte offset ${at.byteOffset(tagStart)}`,
    );
  }
  at.i += 1;
  return { tag, offset, argument, expandable };
}

type Attribute = { name: string; value: string } | { expandable: true };

/** Reads one `name=value` of a start tag (or blockquote's bare `expandable`). */
function readAttribute(at: Cursor, tag: string, tagStart: number): Attribute {
  const attributeStart = at.i;
  while (!at.done && !isSpace(at.ch) && at.ch !== '=' && at.ch !== '>') at.i += 1;
  const name = at.source.slice(attributeStart, at.i).toLowerCase();
  if (name.length === 0) {
    throw cantParseEntities(
      `Empty attribute name in the tag "${tag}" at byte offset ${at.byteOffset(attributeStart)}`,
    );
  }
  at.skipSpaces();
  if (tag === 'blockquote' && name === 'expandable' && at.ch !== '=') return { expandable: true };
  if (at.ch !== '=') {
    if (at.done) {
      throw cantParseEntities(`Unclosed start tag "${tag}" at byte offset ${at.byteOffset(tagStart)}`);
    }
    throw cantParseEntities(
      `Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${at.byteOffset(attributeStart)}`,
    );
  }
  at.i += 1;
  at.skipSpaces();
  if (at.done) {
    throw cantParseEntities(`Unclosed start tag "${tag}" at byte offset ${at.byteOffset(tagStart)}`);
  }
  return { name, value: readAttributeValue(at, tag, attributeStart) };
}

/** A quoted value (with character references decoded) or a bare run of `[A-Za-z0-9.-]`. */
function readAttributeValue(at: Cursor, tag: string, attributeStart: number): string {
  const quote = at.ch;
  if (quote !== '"' && quote !== "'") {
    const valueStart = at.i;
    while (!at.done && /[A-Za-z0-9.-]/.test(at.ch!)) at.i += 1;
    const value = at.source.slice(valueStart, at.i);
    if (value.length === 0) {
      throw cantParseEntities(
        `Expected quote in declaration of an attribute of the tag "${tag}" at byte offset ${at.byteOffset(valueStart)}`,
      );
    }
    return value;
  }
  let value = '';
  at.i += 1;
  while (!at.done && at.ch !== quote) {
    const decoded = at.ch === '&' ? decodeEntity(at.source, at.i) : undefined;
    if (decoded) {
      value += decoded.value;
      at.i = decoded.end;
    } else {
      value += at.ch;
      at.i += 1;
    }
  }
  if (at.ch !== quote) {
    throw cantParseEntities(
      `Unclosed end of an attribute value in the tag "${tag}" at byte offset ${at.byteOffset(attributeStart)}`,
    );
  }
  at.i += 1;
  return value;
}

/** The attribute a tag keeps (a link's href, code's language, span's class, an emoji's id), if this is it. */
function argumentOf(tag: string, attribute: string, value: string): string | undefined {
  if (
    (tag === 'a' && attribute === 'href') ||
    (tag === 'code' && attribute === 'class' && value.startsWith('language-')) ||
    (tag === 'span' && attribute === 'class') ||
    (tag === 'tg-emoji' && attribute === 'emoji-id')
  ) {
    return tag === 'code' ? value.slice('language-'.length) : value;
  }
  return undefined;
}

/** Reads `</tag>` at the cursor and closes the innermost open tag, which it must name (or none). */
function readEndTag(at: Cursor, open: OpenTag[]): OpenTag {
  const tagStart = at.i;
  if (open.length === 0)
    throw cantParseEntities(`Unexpected end tag at byte offset ${at.byteOffset(tagStart)}`);
  at.i += 2;
  const nameStart = at.i;
  while (!at.done && !isSpace(at.ch) && at.ch !== '>') at.i += 1;
  const endTag = at.source.slice(nameStart, at.i).toLowerCase();
  at.skipSpaces();
  if (at.ch !== '>') throw cantParseEntities(`Unclosed end tag at byte offset ${at.byteOffset(tagStart)}`);
  at.i += 1;
  const current = open.pop()!;
  if (endTag.length > 0 && endTag !== current.tag) {
    throw cantParseEntities(
      `Unmatched end tag at byte offset ${at.byteOffset(tagStart)}, expected "</${current.tag}>", found "</${endTag}>"`,
    );
  }
  return current;
}

/** The entity a closed tag makes, if it spans any text. */
function addEntity(entities: MessageEntity[], closed: OpenTag, end: number): void {
  const entity = toEntity(closed, end);
  if (!entity) return;
  // <pre><code class="language-x"> is one pre entity with a language, not two entities.
  const inner = entity.type === 'pre' ? entities.at(-1) : undefined;
  if (inner?.type === 'code' && inner.offset === entity.offset && inner.length === entity.length) {
    entities.pop();
    if (inner.language) entity.language = inner.language;
  }
  entities.push(entity);
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
