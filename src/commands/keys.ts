import { generatePromoteKeys } from '../config/promote-keys.js';
import type { CliCommand } from './command.js';

/** The lines `lugh keys` prints: a fresh pair, each line naming the env file it belongs in. */
export function keysText(pair = generatePromoteKeys()): string {
  return [
    '# A fresh promotion key pair (Ed25519). Staging signs each handoff with the private key;',
    '# production deploys only handoffs that verify with the public key.',
    '#',
    '# Staging only: put this line in .env.staging.local (secret; never in production).',
    `PROMOTE_SIGNING_KEY=${pair.signingKey}`,
    '#',
    '# Production: put this line in .env.prod.local (public; it cannot sign).',
    `PROMOTE_VERIFY_KEY=${pair.verifyKey}`,
    '',
  ].join('\n');
}

export const keysCommand: CliCommand = {
  name: 'keys',
  usage: 'keys         print a fresh promotion key pair in the env-file format, saying which line goes where',
  // Reads no configuration: it is how the configuration gets its keys.
  async run() {
    process.stdout.write(keysText());
  },
};
