// REFRESH_DIR as the only channel between production and staging (they share no network).
// Per refresh, three files named after its nonce:
//
//   refresh-<nonce>.dump          production's anonymised dump
//   refresh-<nonce>.handoff.json  production's signed handoff, written last: its presence says "ready"
//   refresh-<nonce>.status.json   staging's answer: running (step) | done | failed
//
// Every file is written to a dot-named temporary file, fsynced, then renamed (and the
// directory fsynced), so a reader never sees half a file. Staging claims a handoff by
// creating its status file with link(2), which fails when it exists: one claim, ever, per
// nonce, even with two stagings polling one directory.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { APPLY_STEPS } from './apply-steps.js';
import { LEFTOVER_AFTER_MS } from './temporary-database.js';

export const mailboxFile = {
  dump: (nonce: string) => `refresh-${nonce}.dump`,
  handoff: (nonce: string) => `refresh-${nonce}.handoff.json`,
  status: (nonce: string) => `refresh-${nonce}.status.json`,
};

const HANDOFF_FILE = /^refresh-([0-9a-f]{32})\.handoff\.json$/;
const STATUS_FILE = /^refresh-([0-9a-f]{32})\.status\.json$/;
/** Every name the mailbox writes, temporary ones included (the sweep removes only these). */
const OURS = /^(refresh-[0-9a-f]{32}\.(dump|handoff\.json|status\.json)|\.refresh-[0-9a-f]{32}.*)$/;

/** What staging says of one refresh, in its status file. */
export const refreshStatusSchema = z.discriminatedUnion('state', [
  z.object({
    state: z.literal('running'),
    step: z.enum(APPLY_STEPS),
    startedAt: z.iso.datetime(),
    /** Staging's pre-refresh backup (a file name under LUGH_HOME/backups), once taken. */
    backup: z.string().optional(),
  }),
  z.object({
    state: z.literal('done'),
    rows: z.record(z.string(), z.number().int().nonnegative()),
    backup: z.string(),
    ms: z.number().nonnegative(),
  }),
  z.object({ state: z.literal('failed'), message: z.string() }),
]);
export type RefreshStatus = z.infer<typeof refreshStatusSchema>;

/** A status file that is not what staging writes: said plainly, never a crash. */
export class MalformedStatusError extends Error {
  override name = 'MalformedStatusError';
}

function syncDir(dir: string): void {
  // Makes the rename itself durable; some filesystems refuse to open a directory: best effort.
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {}
}

/** A dot-named temporary file beside `name`, written and fsynced; returns its path. */
function writeTemp(dir: string, name: string, data: string | Buffer): string {
  const temp = path.join(dir, `.${name.replace(/\.[^.]*$/, '')}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

/** Writes `dir/name` whole or not at all (temporary file, fsync, rename). */
export function writeAtomic(dir: string, name: string, data: string | Buffer): void {
  const temp = writeTemp(dir, name, data);
  try {
    renameSync(temp, path.join(dir, name));
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  syncDir(dir);
}

/** Moves a finished file (e.g. the dump) to `dir/name` durably: fsync, rename, fsync the directory. */
export function publishFile(file: string, dir: string, name: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(file, path.join(dir, name));
  syncDir(dir);
}

export function writeStatus(dir: string, nonce: string, status: RefreshStatus): void {
  writeAtomic(dir, mailboxFile.status(nonce), `${JSON.stringify(status)}\n`);
}

/**
 * Staging's claim of a handoff: creates its status file (`running`, step verify) unless it
 * exists. True for the one claim that made it; false when it was claimed (or answered) before.
 */
export function claimHandoff(dir: string, nonce: string, at: Date): boolean {
  const status: RefreshStatus = { state: 'running', step: 'verify', startedAt: at.toISOString() };
  const temp = writeTemp(dir, mailboxFile.status(nonce), `${JSON.stringify(status)}\n`);
  try {
    linkSync(temp, path.join(dir, mailboxFile.status(nonce)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
  syncDir(dir);
  return true;
}

/** The status file of `nonce`: undefined when there is none yet; MalformedStatusError when unreadable. */
export function readStatus(dir: string, nonce: string): RefreshStatus | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(dir, mailboxFile.status(nonce)), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MalformedStatusError(
      `staging’s ${mailboxFile.status(nonce)} in REFRESH_DIR is not JSON; is something other than lugh writing there?`,
    );
  }
  const parsed = refreshStatusSchema.safeParse(json);
  if (!parsed.success)
    throw new MalformedStatusError(
      `staging’s ${mailboxFile.status(nonce)} in REFRESH_DIR is not a status lugh writes (${parsed.error.issues
        .map((i) => `${i.path.join('.') || 'the file'}: ${i.message}`)
        .join('; ')}); are both instances on the same lugh version?`,
    );
  return parsed.data;
}

/** The handoff JSON production wrote for `nonce` (trusted for nothing); undefined when gone. */
export function readHandoff(dir: string, nonce: string): unknown {
  try {
    return JSON.parse(readFileSync(path.join(dir, mailboxFile.handoff(nonce)), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return null;
  }
}

function noncesOf(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir)
    .map((f) => pattern.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

/** Nonces whose handoff waits for staging: a handoff file and no status file yet. */
export function listUnclaimed(dir: string): string[] {
  const claimed = new Set(noncesOf(dir, STATUS_FILE));
  return noncesOf(dir, HANDOFF_FILE).filter((n) => !claimed.has(n));
}

/** Nonces with a status file (staging's restart reads those still `running`). */
export function listStatuses(dir: string): string[] {
  return noncesOf(dir, STATUS_FILE);
}

/** Removes the files of one refresh (`which`: all three by default). */
export function removeFiles(
  dir: string,
  nonce: string,
  which: readonly (keyof typeof mailboxFile)[] = ['handoff', 'dump', 'status'],
): void {
  for (const kind of which) rmSync(path.join(dir, mailboxFile[kind](nonce)), { force: true });
}

/** Files and scratch directories a killed refresh left, older than an hour; returns their names. */
export function sweepLeftoverFiles(dir: string, now: Date): string[] {
  const swept: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!OURS.test(f)) continue;
    const file = path.join(dir, f);
    try {
      if (now.getTime() - statSync(file).mtimeMs < LEFTOVER_AFTER_MS) continue;
    } catch {
      continue;
    }
    rmSync(file, { recursive: true, force: true });
    swept.push(f);
  }
  return swept.sort();
}
