// The promotion key pair across the two environments: staging's private key and
// production's public key must be the two halves of one pair, or production refuses every
// promotion staging hands over.
import { resolveFlags } from '../../config/feature-flags.js';
import { keyFingerprint, parseVerifyKey, verifyKeyOf } from '../../config/promote-keys.js';
import { type Check, from, settingsOf } from './check.js';

const FIX =
  'run `lugh keys`; put its PROMOTE_SIGNING_KEY line in .env.staging.local and its PROMOTE_VERIFY_KEY line in .env.prod.local, then restart both';

export const promoteKeysCheck: Check = {
  id: 'promote-keys',
  title: 'Staging signs handoffs with the key production verifies',
  async run(s, p) {
    const [ss, ps] = [settingsOf(s), settingsOf(p)];
    const signing = ss.PROMOTE_SIGNING_KEY?.trim();
    const verify = ps.PROMOTE_VERIFY_KEY?.trim();
    if (ps.PROMOTE_SIGNING_KEY?.trim())
      return {
        ok: false,
        evidence: `production holds PROMOTE_SIGNING_KEY${from(p)}: it could sign its own handoffs`,
        fix: 'remove PROMOTE_SIGNING_KEY from production’s env files (it belongs to staging only)',
      };
    const promoteOn = resolveFlags('production', ps).flags.some((f) => f.key === 'promote' && f.enabled);
    const takesHandoffs = promoteOn && Boolean(ps.GITHUB_REPO?.trim());
    if (!signing && !verify && !takesHandoffs)
      return {
        ok: true,
        evidence: `no key pair, and production takes no handoffs (GITHUB_REPO unset or FEATURE_PROMOTE off)${from(p)}`,
      };
    if (!signing)
      return {
        ok: false,
        evidence: `staging has no PROMOTE_SIGNING_KEY${from(s)}: its handoffs go unsigned and production refuses them`,
        fix: FIX,
      };
    if (!verify)
      return {
        ok: false,
        evidence: `production has no PROMOTE_VERIFY_KEY${from(p)}: it cannot verify a handoff`,
        fix: FIX,
      };
    const signsFor = verifyKeyOf(signing);
    if (!signsFor || !parseVerifyKey(verify))
      return {
        ok: false,
        evidence: `${signsFor ? 'production’s PROMOTE_VERIFY_KEY' : 'staging’s PROMOTE_SIGNING_KEY'} is not an Ed25519 key as \`lugh keys\` prints it`,
        fix: FIX,
      };
    return {
      ok: signsFor === verify,
      evidence:
        signsFor === verify
          ? `staging signs with the pair of ${keyFingerprint(verify)}${from(s)}; production verifies with ${keyFingerprint(verify)}${from(p)}`
          : `staging signs with the pair of ${keyFingerprint(signsFor)}${from(s)}, but production verifies with ${keyFingerprint(verify)}${from(p)}: every promotion would be refused`,
      fix: FIX,
    };
  },
};
