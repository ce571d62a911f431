import { generatePromoteKeys } from '../config/promote-keys.js';
import type { CliCommand } from './command.js';

/** The lines `lugh keys` prints: fresh pairs (promotion, refresh), each line naming the env file it belongs in. */
export function keysText(pair = generatePromoteKeys(), refresh = generatePromoteKeys()): string {
  return [
    '# A fresh promotion key pair (Ed25519). Staging signs each handoff with the private key;',
    '# production deploys only handoffs that verify with the public key.',
    '#',
    '# Staging only: put this line in .env.staging.local (secret; never in production).',
    `PROMOTE_SIGNING_KEY=${pair.signingKey}`,
    '#',
    '# Production: put this line in .env.prod.local (public; it cannot sign).',
    `PROMOTE_VERIFY_KEY=${pair.verifyKey}`,
    '#',
    '# A fresh refresh key pair (Ed25519), the other way round: production signs each',
    '# anonymised dump it hands to staging (/refresh staging); staging applies only dumps',
    '# that verify.',
    '#',
    '# Production only: put this line in .env.prod.local (secret; never in staging).',
    `REFRESH_SIGNING_KEY=${refresh.signingKey}`,
    '#',
    '# Staging: put this line in .env.staging.local (public; it cannot sign).',
    `REFRESH_VERIFY_KEY=${refresh.verifyKey}`,
    '',
  ].join('\n');
}

export const keysCommand: CliCommand = {
  name: 'keys',
  usage:
    'keys         print fresh promotion and refresh key pairs in the env-file format, saying which line goes where',
  // Reads no configuration: it is how the configuration gets its keys.
  async run() {
    process.stdout.write(keysText());
  },
};
