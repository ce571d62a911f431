// A promise rejection nobody handles must not end `lugh start` silently: the process logs
// it (redacted) and keeps running. Node's default is to exit on one, so this runs in a
// child process of its own, as `lugh start` runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = '7003001:AAStrayRejectionSecretToken_abcdefgh';

function runScript(body: string): Promise<{ code: number | string; out: string; err: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lugh-stray-'));
  const file = path.join(dir, 'script.ts');
  const src = (p: string) => JSON.stringify(path.join(REPO_ROOT, 'src', p));
  writeFileSync(
    file,
    `import { logStrayRejections } from ${src('commands/lifecycle.ts')};
import { createLogger } from ${src('logger.ts')};
const logger = createLogger({ level: 'info', secrets: [${JSON.stringify(SECRET)}] });
${body}`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code: code ?? signal ?? 'unknown', out, err }));
  });
}

describe('a stray promise rejection in `lugh start`', () => {
  it('is logged, redacted, and the process goes on', async () => {
    const { code, out, err } = await runScript(`
logStrayRejections(logger);
void Promise.reject(new Error('could not renew with ${SECRET}'));
setTimeout(() => { console.log('still running'); process.exit(0); }, 200);
`);
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    const logged = lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : l));
    expect(logged).toEqual([
      expect.objectContaining({
        level: 50,
        msg: 'a promise rejection was not handled; lugh keeps running',
        err: expect.objectContaining({ message: 'could not renew with [redacted]' }),
      }),
      'still running',
    ]);
    expect(out).not.toContain(SECRET);
  }, 30_000);

  it('without the handler, Node ends the process on it (what the handler prevents)', async () => {
    const { code } = await runScript(`
void logStrayRejections;
void logger;
void Promise.reject(new Error('boom'));
setTimeout(() => process.exit(0), 200);
`);
    expect(code).toBe(1);
  }, 30_000);
});
