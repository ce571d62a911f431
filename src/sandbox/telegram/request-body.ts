import type { IncomingMessage } from 'node:http';
import { badRequest } from './errors.js';
import { Params, type UploadedFile } from './params.js';

/** The real server accepts uploads up to 50 MB. */
const maxBodyBytes = 50 * 1024 * 1024;

/** Reads the whole request body, refusing anything larger than the real server would take. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Turns a Bot API request into parameters. Query string parameters apply to every verb,
 * as on the real server; the body may be JSON, a urlencoded form or multipart/form-data.
 */
export function parseParams(contentType: string | undefined, body: Buffer, query: URLSearchParams): Params {
  const values: Record<string, unknown> = Object.fromEntries(query);
  const files = new Map<string, UploadedFile>();
  const type = (contentType ?? '').toLowerCase();
  if (body.length > 0) {
    if (type.startsWith('application/json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest("can't parse JSON object");
      }
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        Object.assign(values, parsed);
      }
    } else if (type.startsWith('application/x-www-form-urlencoded')) {
      Object.assign(values, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    } else if (type.startsWith('multipart/form-data')) {
      const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
      const marker = boundary?.[1] ?? boundary?.[2];
      if (!marker) throw badRequest('wrong multipart/form-data request: boundary is missing');
      for (const part of parseMultipart(body, marker)) {
        if (part.filename !== undefined) {
          files.set(part.name, {
            filename: part.filename,
            contentType: part.contentType,
            content: part.content,
          });
        } else {
          values[part.name] = part.content.toString('utf8');
        }
      }
    }
  }
  return new Params(values, files);
}

interface Part {
  name: string;
  filename: string | undefined;
  contentType: string;
  content: Buffer;
}

/**
 * A lenient multipart reader: grammY writes headers without spaces and leaves the
 * filename unquoted (`content-disposition:form-data;name="x";filename=a b.txt`).
 */
function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next === -1) break;
    // A part sits between the CRLF after the delimiter and the CRLF before the next one.
    const raw = body.subarray(afterDelimiter + 2, next - 2);
    const headerEnd = raw.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = raw.subarray(0, headerEnd).toString('utf8').split('\r\n');
      const content = Buffer.from(raw.subarray(headerEnd + 4));
      let name: string | undefined;
      let filename: string | undefined;
      let contentType = 'application/octet-stream';
      for (const line of headers) {
        const colon = line.indexOf(':');
        if (colon === -1) continue;
        const header = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (header === 'content-type') contentType = value;
        if (header !== 'content-disposition') continue;
        name = /(?:^|;)\s*name=(?:"([^"]*)"|([^;]*))/i
          .exec(value)
          ?.slice(1)
          .find((v) => v !== undefined);
        // An unquoted filename runs to the end of the line: it may hold spaces or semicolons.
        const file = /;\s*filename=(?:"([^"]*)"|(.*))$/i.exec(value);
        if (file) filename = (file[1] ?? file[2] ?? '').trim();
      }
      if (name !== undefined) parts.push({ name: name.trim(), filename, contentType, content });
    }
    start = next;
  }
  return parts;
}
