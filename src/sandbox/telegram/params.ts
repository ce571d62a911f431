import { badRequest } from './errors.js';

/** A file part of a multipart/form-data request. */
export interface UploadedFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

/**
 * Typed access to a method's parameters. The real server accepts the same call as JSON
 * (typed values), as a form or query string (everything a string, objects as JSON text)
 * and as multipart; this reader hides which one arrived.
 */
export class Params {
  constructor(
    private readonly values: Record<string, unknown>,
    private readonly files: ReadonlyMap<string, UploadedFile> = new Map(),
  ) {}

  has(name: string): boolean {
    const value = this.values[name];
    return (value !== undefined && value !== null && value !== '') || this.files.has(name);
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw badRequest(`field "${name}" must be of type String`);
  }

  int(name: string): number | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === '') return undefined;
    const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
    if (!Number.isInteger(number)) throw badRequest(`field "${name}" must be of type Integer`);
    return number;
  }

  bool(name: string): boolean | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (value === true || value === 'true' || value === '1' || value === 1) return true;
    if (value === false || value === 'false' || value === '0' || value === 0) return false;
    throw badRequest(`field "${name}" must be of type Boolean`);
  }

  /** An object-typed parameter; form and query callers send these as JSON text. */
  json(name: string, what = `${name} JSON object`): unknown {
    const value = this.values[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw badRequest(`can't parse ${what}`);
    }
  }

  /** An InputFile parameter: an upload (by field name or `attach://`), or a file_id/URL string. */
  file(name: string): UploadedFile | string | undefined {
    const direct = this.files.get(name);
    if (direct) return direct;
    const value = this.string(name);
    if (value?.startsWith('attach://')) {
      const attached = this.files.get(value.slice('attach://'.length));
      if (!attached) throw badRequest(`wrong remote file identifier specified: can't find attached file`);
      return attached;
    }
    return value;
  }

  /** The parameters as logged by `calls()`: uploads summarised, never their bytes. */
  toLog(): Record<string, unknown> {
    const log: Record<string, unknown> = { ...this.values };
    for (const [name, file] of this.files) {
      log[name] = { filename: file.filename, size: file.content.length };
    }
    return log;
  }
}
