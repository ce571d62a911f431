// Debian's chromium driven by playwright-core; no browser is ever downloaded.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** True when Debian's chromium is installed. In CI (.ci/run installs it) its absence is a failure. */
export function chromiumPresent(): boolean {
  const present = existsSync(CHROMIUM);
  if (!present && process.env.CI) throw new Error(`CI needs ${CHROMIUM}: .ci/run installs Debian's chromium`);
  return present;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
