// What a personal value looks like to the scan: e-mail addresses, phone numbers, tokens.
// Each pattern is written in the subset both JavaScript and Postgres' regular expressions
// (ARE) read alike, so the scan runs them in SQL and the unit tests hold them in JS.
import type { SurvivingValue } from './anonymise.js';

export type PersonalKind = SurvivingValue['kind'];

/**
 * Shapes stripped before a value is looked at: the anonymiser's own fakes, and content
 * digests (`sha256:<hex>`, Docker's image ids and references), which name bytes, not people.
 */
export const FAKE_EMAIL_DOMAIN = 'example.invalid';
export const FAKE_PHONE_PREFIX = '+0-555-';
export const FAKE_SHAPES = `[A-Za-z0-9._%+-]+@example\\.invalid|\\+0-555-[0-9]+|sha(256|384|512):[0-9a-fA-F]{32,}`;

export const PERSONAL_PATTERNS: Readonly<Record<PersonalKind, string>> = {
  email: '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}',
  phone: [
    // international: +44 7700 900123, +1 (555) 123-4567
    '\\+[0-9][0-9 ().-]{7,18}[0-9]',
    // North American: (555) 123-4567, 555-123-4567, 555.123.4567
    '(^|[^0-9])\\(?[0-9]{3}\\)?[ .-][0-9]{3}[ .-][0-9]{4}($|[^0-9])',
    // national with a trunk 0: 07700900123, 0301234567
    '(^|[^0-9])0[0-9]{9,10}($|[^0-9])',
  ].join('|'),
  token: [
    'gh[pousr]_[A-Za-z0-9]{30,}',
    'github_pat_[A-Za-z0-9_]{22,}',
    // Telegram bot token: <bot id>:<35 characters>
    '[0-9]{8,10}:[A-Za-z0-9_-]{35}',
    '(AKIA|ASIA)[0-9A-Z]{16}',
    'xox[abpors]-[A-Za-z0-9-]{10,}',
    'eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\.',
    // long random hex (48+: longer than a commit SHA) or base64 with digits and both cases
    '[0-9a-fA-F]{48,}',
    '(?=[A-Za-z0-9+/_-]*[0-9])(?=[A-Za-z0-9+/_-]*[A-Z])(?=[A-Za-z0-9+/_-]*[a-z])[A-Za-z0-9+/_-]{40,}',
  ].join('|'),
};

export const PERSONAL_KINDS = Object.keys(PERSONAL_PATTERNS) as PersonalKind[];

const compiled = Object.fromEntries(
  PERSONAL_KINDS.map((k) => [k, new RegExp(PERSONAL_PATTERNS[k])]),
) as Record<PersonalKind, RegExp>;
const fakes = new RegExp(FAKE_SHAPES, 'g');

/** The kinds of personal value `value` holds (the anonymiser's fakes do not count); the scan asks the same in SQL. */
export function personalKinds(value: string): PersonalKind[] {
  const rest = value.replace(fakes, '');
  return PERSONAL_KINDS.filter((k) => compiled[k].test(rest));
}
