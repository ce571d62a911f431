import { badRequest } from './errors.js';
import { type FormattedText, parseHtml } from './html.js';
import { parseMarkdown, parseMarkdownV2 } from './markdown.js';
import type { MessageEntity } from './types.js';

/**
 * Applies `parse_mode` (or explicit `entities`) to a text and normalises the result as
 * the real server does: surrounding whitespace trimmed, entities sorted and clipped.
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
  return trim(parsed);
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
