import type { Transformer } from 'grammy';

const HTML_MARK = '🧪 <b>STAGING</b> · ';
const PLAIN_MARK = '[staging] ';
const TEXT_METHODS = new Set(['sendMessage', 'editMessageText']);
const CAPTION_METHODS = new Set(['sendDocument', 'sendPhoto', 'editMessageCaption']);

/**
 * Marks every message the staging bot sends or edits, so a screenshot of a staging
 * chat can never be mistaken for production. Also makes HTML the default parse mode,
 * which every lugh message is written in.
 */
export function stagingMarker(isStaging: boolean): Transformer {
  return (prev, method, payload, signal) => {
    const p = payload as Record<string, unknown>;
    if (TEXT_METHODS.has(method) && typeof p.text === 'string') {
      const parseMode = p.parse_mode ?? 'HTML';
      const text = isStaging ? `${parseMode === 'HTML' ? HTML_MARK : PLAIN_MARK}${p.text}` : p.text;
      return prev(method, { ...p, text, parse_mode: parseMode } as typeof payload, signal);
    }
    if (CAPTION_METHODS.has(method)) {
      const parseMode = p.parse_mode ?? 'HTML';
      const caption = typeof p.caption === 'string' ? p.caption : '';
      const marked = isStaging ? `${parseMode === 'HTML' ? HTML_MARK : PLAIN_MARK}${caption}` : caption;
      return prev(
        method,
        { ...p, caption: marked || undefined, parse_mode: parseMode } as typeof payload,
        signal,
      );
    }
    if (isStaging && method === 'answerCallbackQuery' && typeof p.text === 'string') {
      return prev(method, { ...p, text: `${PLAIN_MARK}${p.text}` } as typeof payload, signal);
    }
    return prev(method, payload, signal);
  };
}
