// The refresh mailbox in REFRESH_DIR (src/refresh/mailbox.ts): whole files under their final
// names only, one claim per handoff, a malformed status said plainly, the sweep of leftovers.
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  claimHandoff,
  listStatuses,
  listUnclaimed,
  MalformedStatusError,
  mailboxFile,
  readStatus,
  removeFiles,
  sweepLeftoverFiles,
  writeAtomic,
  writeStatus,
} from '../../../src/refresh/mailbox.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lugh-mailbox-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the refresh mailbox', () => {
  it('names each refresh’s files after its nonce and leaves no temporary file behind', () => {
    expect([mailboxFile.dump(A), mailboxFile.handoff(A), mailboxFile.status(A)]).toEqual([
      `refresh-${A}.dump`,
      `refresh-${A}.handoff.json`,
      `refresh-${A}.status.json`,
    ]);
    writeAtomic(dir, mailboxFile.handoff(A), '{"nonce":"x"}');
    writeStatus(dir, B, { state: 'failed', message: 'no' });
    expect(readdirSync(dir).sort()).toEqual([mailboxFile.handoff(A), mailboxFile.status(B)]);
  });

  it('lists a handoff until it is claimed, and lets it be claimed once only', () => {
    writeAtomic(dir, mailboxFile.handoff(A), '{}');
    writeAtomic(dir, mailboxFile.handoff(B), '{}');
    // A half-written handoff (a temporary name) is not listed.
    writeFileSync(path.join(dir, `.refresh-${'c'.repeat(32)}.handoff.1234.tmp`), '{');
    expect(listUnclaimed(dir)).toEqual([A, B]);
    const at = new Date('2026-12-02T01:00:00.000Z');
    expect(claimHandoff(dir, A, at)).toBe(true);
    expect(claimHandoff(dir, A, at)).toBe(false);
    expect(listUnclaimed(dir)).toEqual([B]);
    expect(listStatuses(dir)).toEqual([A]);
    expect(readStatus(dir, A)).toEqual({ state: 'running', step: 'verify', startedAt: at.toISOString() });
    // The claim's own temporary file is gone.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') && !f.includes('c'.repeat(32)))).toEqual([]);
  });

  it('reads no status as undefined, and a malformed one as a clear error', () => {
    expect(readStatus(dir, A)).toBeUndefined();
    writeAtomic(dir, mailboxFile.status(A), '{"state":"running",');
    expect(() => readStatus(dir, A)).toThrow(MalformedStatusError);
    expect(() => readStatus(dir, A)).toThrow(`staging’s refresh-${A}.status.json in REFRESH_DIR is not JSON`);
    writeAtomic(dir, mailboxFile.status(A), '{"state":"done","rows":{"t":-1},"backup":"b","ms":1}');
    expect(() => readStatus(dir, A)).toThrow(/is not a status lugh writes \(rows\.t: .*\)/);
    writeStatus(dir, A, { state: 'done', rows: { t: 2 }, backup: 'b.dump', ms: 12 });
    expect(readStatus(dir, A)).toEqual({ state: 'done', rows: { t: 2 }, backup: 'b.dump', ms: 12 });
  });

  it('removes one refresh’s files, and sweeps only the mailbox’s own leftovers older than an hour', () => {
    for (const f of [mailboxFile.dump(A), mailboxFile.handoff(A), mailboxFile.status(A)])
      writeAtomic(dir, f, 'x');
    removeFiles(dir, A, ['dump', 'handoff']);
    expect(readdirSync(dir)).toEqual([mailboxFile.status(A)]);
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const f of [
      mailboxFile.dump(B),
      mailboxFile.status(B),
      `.refresh-${B}.status.99.tmp`,
      'notes.txt',
    ]) {
      writeFileSync(path.join(dir, f), 'x');
      utimesSync(path.join(dir, f), old, old);
    }
    expect(sweepLeftoverFiles(dir, new Date())).toEqual(
      [`.refresh-${B}.status.99.tmp`, mailboxFile.dump(B), mailboxFile.status(B)].sort(),
    );
    expect(readdirSync(dir).sort()).toEqual([mailboxFile.status(A), 'notes.txt'].sort());
  });
});
