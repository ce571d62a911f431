import { badRequest } from './errors.js';
import { type FormattedText, parseHtml } from './html.js';
import { parseMarkdown, parseMarkdownV2 } from './markdown.js';
import type { MessageEntity } from './types.js';

/**
 * Applies `parse_mode` (or explicit `entities`) to a text and normalises the result as
 * the real server does: surrounding whitespace trimmed, entities sorted and clipped, and
 * the /commands in the text found as `bot_command` entities (which the apps make tappable).
 */
export function parseFormattedText(
  source: string,
  parseMode: string | undefined,
  explicitEntities: unknown,
): FormattedText {
  let parsed: FormattedText;
  const mode = (parseMode ?? '').toLowerCase();
  if (mode === 'html') parsed = parseHtml(source);
  else if (mode === 'markdownv2') parsed = parseMarkdownV2(source);
  else if (mode === 'markdown') parsed = parseMarkdown(source);
  else if (mode === '') parsed = { text: source, entities: readEntities(explicitEntities) };
  else throw badRequest('unsupported parse_mode');
  return withBotCommands(trim(parsed));
}

function readEntities(value: unknown): MessageEntity[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest("can't parse entities JSON object");
  return value.map((entity): MessageEntity => {
    const e = entity as Partial<MessageEntity> | null;
    if (typeof e?.type !== 'string' || !Number.isInteger(e.offset) || !Number.isInteger(e.length)) {
      throw badRequest('can\'t parse MessageEntity: field "type", "offset" or "length" is missing');
    }
    return { ...e, type: e.type, offset: e.offset!, length: e.length! };
  });
}

function trim({ text, entities }: FormattedText): FormattedText {
  const leading = text.length - text.trimStart().length;
  const trimmed = text.trim();
  const clipped = entities
    .map((entity) => {
      const start = Math.max(0, entity.offset - leading);
      const end = Math.min(trimmed.length, entity.offset + entity.length - leading);
      return { ...entity, offset: start, length: end - start };
    })
    .filter((entity) => entity.length > 0)
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: trimmed, entities: clipped };
}

/** Entities a found command may not overlap: the server finds none inside code or a link. */
const OPAQUE = new Set([
  'code',
  'pre',
  'url',
  'text_link',
  'email',
  'mention',
  'text_mention',
  'bot_command',
]);

/**
 * Adds the `bot_command` entities the real server finds in a bot's text, as tdlib's
 * `match_bot_commands` does: a `/` not preceded by a word character, `/`, `<`, `>` or `\\`,
 * then 1–64 of `[A-Za-z0-9_]`, optionally `@` and a 3–32 character bot name, not followed
 * by a word character or those signs. Paths (`/tmp/x`) and URLs (`https://…`) are no commands.
 */
function withBotCommands({ text, entities }: FormattedText): FormattedText {
  const found: MessageEntity[] = [];
  const command = /\/([A-Za-z0-9_]{1,64})(@[A-Za-z0-9_]{3,32})?/g;
  for (let match = command.exec(text); match; match = command.exec(text)) {
    const start = match.index;
    const end = start + match[0].length;
    const before = text[start - 1];
    const after = text[end];
    if (before !== undefined && /[\p{L}\p{N}_/<>\\]/u.test(before)) continue;
    if (after !== undefined && /[\p{L}\p{N}_/<>\\]/u.test(after)) continue;
    const overlaps = entities.some(
      (e) => OPAQUE.has(e.type) && e.offset < end && start < e.offset + e.length,
    );
    if (!overlaps) found.push({ type: 'bot_command', offset: start, length: end - start });
  }
  if (found.length === 0) return { text, entities };
  return {
    text,
    entities: [...entities, ...found].sort((a, b) => a.offset - b.offset || b.length - a.length),
  };
}
