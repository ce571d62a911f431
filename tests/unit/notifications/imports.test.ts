// DESIGN §7: notifications are an application service. They reach the chat only through
// the NotificationChat and NotificationTexts the bot implements, never grammY or src/bot/.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = resolve('src/notifications');
const BOT = resolve('src/bot');

const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);

describe('src/notifications', () => {
  it('imports neither grammY nor anything of the bot', () => {
    const files = readdirSync(DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('outbox-sender.ts');
    const wrong = files.flatMap((f) =>
      importsOf(join(DIR, f))
        .filter((spec) => /^(grammy|@grammyjs\/)/.test(spec) || resolve(DIR, f, '..', spec).startsWith(BOT))
        .map((spec) => `${f} imports ${spec}`),
    );
    expect(wrong).toEqual([]);
  });
});
