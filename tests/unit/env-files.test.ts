import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvFiles } from '../../src/config/env-files.js';

describe('loadEnvFiles', () => {
  it('reads the file, then its .local override, and lets the process environment win', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lugh-env-'));
    const file = path.join(dir, '.env.staging');
    writeFileSync(file, 'A=file\nB=file\nC=file\n');
    writeFileSync(`${file}.local`, 'B=local\nC=local\n');
    expect(loadEnvFiles([file], { C: 'process' })).toMatchObject({ A: 'file', B: 'local', C: 'process' });
  });

  it('names a missing env file', () => {
    expect(() => loadEnvFiles(['/nonexistent/.env.prod'], {})).toThrow(
      '/nonexistent/.env.prod does not exist',
    );
  });
});
