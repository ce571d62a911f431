import { readFileSync } from 'node:fs';
import { isPlaceholder } from './placeholder.js';
import type { Setting } from './setting.js';
import { SETTING_LIST } from './settings.js';

type Env = Readonly<Record<string, string | undefined>>;

/** `<X>_FILE` reads secret X from a file: a Docker secret (`/run/secrets/…`) on Swarm. */
export const fileVariableOf = (variable: string) => `${variable}_FILE`;

/** Every secret setting, each of which may be read from `<X>_FILE`. */
export const FILE_SECRETS: readonly Setting[] = SETTING_LIST.filter((s) => s.secret !== undefined);

export interface SecretFileProblem {
  readonly variable: string;
  readonly message: string;
}

export interface SecretFilesRead {
  /** The environment with each `<X>_FILE`'s content as X. */
  readonly env: Record<string, string | undefined>;
  /** Variable → the path its value was read from. */
  readonly fromFiles: Readonly<Record<string, string>>;
  readonly problems: readonly SecretFileProblem[];
}

// A committed env file's placeholder (or a URL whose password is one) marks a value still to
// be set elsewhere, e.g. in the file a Docker secret mounts: it does not compete with X_FILE.
function holdsValue(setting: Setting, value: string | undefined): boolean {
  const text = value?.trim();
  if (!text || isPlaceholder(text)) return false;
  return !(setting.secret?.(text) ?? []).some((form) => form !== undefined && isPlaceholder(form));
}

/** The file's content, less one trailing newline (what `echo … >file` and `docker secret create` leave). */
const contentOf = (text: string) => text.replace(/\r?\n$/, '');

/**
 * Reads `<X>_FILE` for every secret X. Both set, or a file that cannot be read, is a problem
 * naming the variables and the path, never the content.
 */
export function readSecretFiles(
  env: Env,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): SecretFilesRead {
  const resolved: Record<string, string | undefined> = { ...env };
  const fromFiles: Record<string, string> = {};
  const problems: SecretFileProblem[] = [];
  for (const setting of FILE_SECRETS) {
    const fileVariable = fileVariableOf(setting.variable);
    const file = env[fileVariable]?.trim();
    if (!file) continue;
    if (holdsValue(setting, env[setting.variable])) {
      problems.push({
        variable: setting.variable,
        message: `and ${fileVariable} are both set: keep one (${fileVariable} reads the value from ${file}).`,
      });
      continue;
    }
    try {
      resolved[setting.variable] = contentOf(read(file));
      fromFiles[setting.variable] = file;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({
        variable: fileVariable,
        message: `names ${file}, which cannot be read${code ? ` (${code})` : ''}: mount the secret there or unset ${fileVariable}.`,
      });
    }
  }
  return { env: resolved, fromFiles, problems };
}
