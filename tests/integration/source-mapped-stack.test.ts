// lugh runs bundled: a logged error's stack must still name its source files and lines.
// These run the real bundle (the run's build, tests/helpers/global-setup.ts) in plain node.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { sourceMappedStack } from '../../src/source-mapped-stack.js';

const run = promisify(execFile);
const VALID_ENV = {
  APP_ENV: 'staging',
  TELEGRAM_BOT_TOKEN: '7015001:AAStackTestToken_abcdefghijklmnopqrs',
  DATABASE_URL: 'postgres://lugh:secret@127.0.0.1:1/lugh',
  REDIS_URL: 'redis://127.0.0.1:1',
  ADMIN_IDS: '1001',
};
const dist = path.dirname(inject('lughCli'));
/** The bundle's chunk that exports lugh's `fn` (esbuild keeps the names it exports). */
const chunkDefining = (fn: string) => {
  const exported = new RegExp(`^export \\{[^}]*\\b${fn}\\b`, 'm');
  const name = readdirSync(dist).find(
    (f) => f.endsWith('.js') && exported.test(readFileSync(path.join(dist, f), 'utf8')),
  );
  if (!name) throw new Error(`no chunk of ${dist} defines ${fn}`);
  return path.join(dist, name);
};
/** The text at a 1-based line and column of one of lugh's sources. */
const sourceAt = (file: string, line: number, column: number) =>
  readFileSync(path.join(PACKAGE_ROOT, file), 'utf8')
    .split('\n')
    [line - 1]!.slice(column - 1);

describe("a bundled lugh's stacks", () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'lugh-stack-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** Runs `body` as an ES module in plain node (no vitest, no tsx) and returns its stdout. */
  const inNode = async (body: string) => {
    const file = path.join(scratch, `${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, body);
    return (await run(process.execPath, [file])).stdout;
  };

  it('are logged naming the source file, line and column that threw, not the chunk', async () => {
    const out = await inNode(`
      const { createConfig } = await import(${JSON.stringify(chunkDefining('createConfig'))});
      const { loggerFor } = await import(${JSON.stringify(chunkDefining('loggerFor'))});
      // The logger every command uses, for a configuration that parses.
      const logger = loggerFor(createConfig(${JSON.stringify(VALID_ENV)}));
      try { createConfig({}); } catch (err) { logger.error({ err }, 'start refused'); }
    `);
    const { err } = JSON.parse(out.trim()) as { err: { type: string; stack: string } };
    expect(err.type).toBe('ConfigError');
    const frame = /at (?:Module\.)?createConfig \((src\/config\/[\w-]+\.ts):(\d+):(\d+)\)/.exec(err.stack);
    expect(frame, err.stack).not.toBeNull();
    // The position is the throw itself, in the source as written.
    expect(sourceAt(frame![1]!, Number(frame![2]), Number(frame![3]))).toMatch(/^new ConfigError\(/);
    expect(err.stack).not.toMatch(/chunk-\w+\.js/);
  });

  it('keep the frames no map of lugh covers as node wrote them', async () => {
    const stack = await inNode(`
      const { createConfig } = await import(${JSON.stringify(chunkDefining('createConfig'))});
      try { createConfig({}); } catch (err) { console.log(err.stack); }
    `);
    // The caller here is a file of no bundle: its frame stays; the chunk's frame is mapped.
    const mapped = sourceMappedStack(stack);
    expect(stack).toMatch(/chunk-\w+\.js:\d+:\d+/);
    expect(mapped).not.toMatch(/chunk-\w+\.js:\d+:\d+/);
    expect(mapped).toContain(`${scratch}/`);
    expect(mapped.split('\n').filter((l) => l.includes(scratch))).toEqual(
      stack.split('\n').filter((l) => l.includes(scratch)),
    );
    // node's own frames, a dependency's file (glob ships a map beside it) and an unknown file.
    expect(existsSync(`${PACKAGE_ROOT}/node_modules/glob/dist/esm/index.js.map`)).toBe(true);
    const others = [
      '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
      `    at Glob.walk (${PACKAGE_ROOT}/node_modules/glob/dist/esm/index.js:10:5)`,
      '    at gone (/nowhere/lugh/dist/chunk-GONE.js:1:1)',
    ].join('\n');
    expect(sourceMappedStack(others)).toBe(others);
  });
});
