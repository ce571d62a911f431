// Telegram's own documentation example, often pasted as-is.
const DOCUMENTED_EXAMPLE_TOKEN = '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11';

/** The marks of a value still to be set: `__SET_IN_.env.staging.local__`, `changeme`, `<token>`, … */
export const PLACEHOLDER = /(^__.*__$)|changeme|change_me|placeholder|your[_-]?token|^x+$|^<.*>$/i;

/** A value that stands in for a secret still to be set (or Telegram's documented example token). */
export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value.trim()) || value.trim() === DOCUMENTED_EXAMPLE_TOKEN;
}
