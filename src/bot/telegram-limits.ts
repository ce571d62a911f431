// Telegram's size limits, measured as Telegram measures them: on the text left after the
// HTML is parsed (Bot API: "1-4096 characters after entities parsing").

/** Bot API: a message text is at most 4096 characters after entity parsing. */
export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * What lugh's own renderers aim for: the limit less room for what is added on the way out
 * (the staging marker, a redaction that lengthens a line).
 */
export const TEXT_BUDGET = TELEGRAM_TEXT_LIMIT - 296;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };

/** The text Telegram keeps of an HTML message: tags dropped, entities decoded. */
export function plainText(html: string): string {
  return html.replace(/<[^>]*>/g, '').replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const code =
        name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** The length Telegram counts for an HTML text (UTF-16 code units, as its entity offsets). */
export const plainLength = (html: string): number => plainText(html).length;

/**
 * `head`, as many of `lines` as fit in `budget` (after parsing), then "…and N more" for the
 * rest, then `tail`. Lines are kept in order; head and tail always stay.
 */
export function fitLines(
  head: readonly string[],
  lines: readonly string[],
  tail: readonly string[] = [],
  budget = TEXT_BUDGET,
): string {
  const fixed = plainLength([...head, ...tail].join('\n'));
  const kept: string[] = [];
  let used = fixed;
  for (const [i, line] of lines.entries()) {
    const rest = lines.length - i - 1;
    const reserve = rest > 0 ? `\n…and ${rest} more`.length : 0;
    const cost = plainLength(line) + 1;
    if (used + cost + reserve > budget) {
      kept.push(`…and ${lines.length - i} more`);
      break;
    }
    kept.push(line);
    used += cost;
  }
  return [...head, ...kept, ...tail].join('\n');
}

/** A name cut to `max` characters (with an ellipsis), before it is escaped into HTML. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Bot API: a photo's caption is at most 1024 characters after entity parsing. */
export const TELEGRAM_CAPTION_LIMIT = 1024;
