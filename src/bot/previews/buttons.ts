// The callback data of /previews' buttons, built and read in one place. Each carries the
// offer (button_offers: the asker and the expiry) and a pull request number, which the
// handler checks against the previews there are now: nothing in it is trusted.

/** What a button of /previews asks. */
export type PreviewAction =
  /** Redeploy at the pull request's head. */
  | 'redeploy'
  /** Its container's last lines. */
  | 'logs'
  /** Ask to confirm a tear-down. */
  | 'down'
  /** Confirmed: tear it down. */
  | 'down-yes'
  /** Start a stopped preview (not a fork's). */
  | 'start'
  /** Ask to confirm starting a fork's preview (untrusted code). */
  | 'fork'
  /** Confirmed: start the fork's preview. */
  | 'fork-yes'
  /** Said no to a confirmation. */
  | 'no'
  /** Another page of the list (`pr` is the page's first index). */
  | 'page';

const CODES: Readonly<Record<PreviewAction, string>> = {
  redeploy: 're',
  logs: 'lg',
  down: 'td',
  'down-yes': 'ty',
  start: 'st',
  fork: 'fk',
  'fork-yes': 'fy',
  no: 'no',
  page: 'pg',
};
const ACTIONS = new Map(Object.entries(CODES).map(([action, code]) => [code, action as PreviewAction]));

/** `pv:<code>:<offer>:<n>`: at most 27 bytes, well under Telegram's 64. */
export function previewButton(action: PreviewAction, offerId: number, pr: number): string {
  return `pv:${CODES[action]}:${offerId}:${pr}`;
}

/** Every callback data of /previews, for the composer's filter. */
export const PREVIEW_BUTTON = /^pv:([a-z]{2}):(\d{1,12}):(\d{1,9})$/;

/** The action, offer and number a /previews button carries; undefined for anything else. */
export function readPreviewButton(
  data: string,
): { readonly action: PreviewAction; readonly offerId: number; readonly pr: number } | undefined {
  const m = PREVIEW_BUTTON.exec(data);
  const action = m && ACTIONS.get(m[1]!);
  if (!m || !action) return undefined;
  return { action, offerId: Number(m[2]), pr: Number(m[3]) };
}
