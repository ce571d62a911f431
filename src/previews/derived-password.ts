// A preview's passwords (its Postgres role's, its Redis user's) are derived, never stored:
// an HMAC of the user's name keyed by the secret lugh already holds for that server (the
// admin URL's password, or the whole URL when it has none). The same name gives the same
// password at every call, on every restart, so nothing about it needs a table.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** The secret a server's URL carries: its password, else the whole URL. */
export function secretOf(serverUrl: string): string {
  try {
    const password = decodeURIComponent(new URL(serverUrl).password);
    if (password) return password;
  } catch {
    // not a URL we can read: the whole string is the key
  }
  return serverUrl;
}

/** 40 hex characters (no character a URL or a Postgres literal must quote), from `name` and the server's secret. */
export function derivedPassword(serverUrl: string, name: string): string {
  return createHmac('sha256', secretOf(serverUrl)).update(`lugh-preview:${name}`).digest('hex').slice(0, 40);
}

/**
 * Postgres's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677, as libpq's
 * PQencryptPasswordConn makes it): what CREATE/ALTER ROLE … PASSWORD is given, so the
 * password itself never reaches the server (nor a statement log). A fresh salt each call.
 */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey}:${serverKey}`;
}
