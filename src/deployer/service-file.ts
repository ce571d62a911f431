// lugh.yml's parser: the YAML library and the file's schema, loaded with the deploy engine
// (the resolve step) and not by every `lugh start`, which only needs the set's shapes and
// labels (service-set.ts).
import { parse as parseYaml, YAMLParseError } from 'yaml';
import * as z from 'zod';
import {
  APP_SERVICE,
  type Build,
  DEFAULT_BUILD,
  MAX_REPLICAS,
  SERVICE_FILE,
  type Service,
  type ServiceHealth,
  type ServiceSet,
} from './service-set.js';

/** Container names lugh derives from the app's own (`-previous`, `-preflight-…`, `-migrate-…`, `-runner-…`). */
const RESERVED = new Set(['previous', 'preflight', 'migrate', 'runner']);

const serviceName = z
  .string()
  .regex(/^[a-z][a-z0-9]{0,29}$/, 'must be lowercase letters and digits, starting with a letter (at most 30)')
  .refine((name) => !RESERVED.has(name), 'is a name lugh uses for its own containers');

const relativePath = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !p.split('/').includes('..'),
    'must be a path inside the repository (no leading / and no ..)',
  );

const command = z.array(z.string().min(1)).min(1, 'must name a program: a list like ["node", "worker.js"]');

const health = z.union([
  z.strictObject({ http: z.string().startsWith('/', 'must be a path starting with /') }),
  z.strictObject({
    command,
    interval_seconds: z.number().int().min(1).max(60).default(2),
  }),
  z.literal('none'),
]);

const service = z
  .strictObject({
    /** Built from a Dockerfile of the repository (the default: `Dockerfile` at the root). */
    build: z
      .strictObject({
        dockerfile: relativePath.default('Dockerfile'),
        context: relativePath.default('.'),
      })
      .optional(),
    /** Runs the image another service of the set builds, with its own command. */
    image_of: serviceName.optional(),
    command: command.optional(),
    replicas: z.number().int().min(1).max(MAX_REPLICAS, `must be at most ${MAX_REPLICAS}`).default(1),
    /** The port the service listens on inside its container (PORT is set to it). */
    port: z.number().int().min(1).max(65_535).optional(),
    /** Whether the environment's proxy sends it requests (needs `port`). */
    traffic: z.boolean().default(false),
    health: health.optional(),
    /** Lower first; services of one order go in the order the file lists them. */
    order: z.number().int().min(0).max(100).default(50),
  })
  .refine((s) => !(s.build && s.image_of), {
    message: 'has both build and image_of: a service either builds its image or runs another’s',
  })
  .refine((s) => !s.traffic || s.port !== undefined, {
    message: 'takes traffic but names no port: add `port: <the port it listens on>`',
  });

const serviceFile = z.strictObject({
  services: z
    .record(z.string(), service)
    .refine((all) => Object.keys(all).length > 0, 'must list at least one service'),
});

/** lugh.yml could not be read; the message names the field and says what to write. */
export class ServiceFileError extends Error {
  override name = 'ServiceFileError';
}

/** Parses lugh.yml's text; fails with every problem, each naming its field, and what to do. */
export function parseServiceFile(text: string): ServiceSet {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError ? ` (line ${error.linePos?.[0]?.line ?? '?'})` : '';
    throw new ServiceFileError(
      `${SERVICE_FILE} is not valid YAML${where}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  const parsed = serviceFile.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.join('.') : 'the file';
      return `${path}: ${issue.message}`;
    });
    throw new ServiceFileError(
      `${SERVICE_FILE} is not a service file lugh can deploy: ${problems.join('; ')}`,
    );
  }
  return resolve(parsed.data.services);
}

function resolve(declared: Record<string, z.infer<typeof service>>): ServiceSet {
  const names = Object.keys(declared);
  const problems: string[] = [];
  for (const name of names) {
    const result = serviceName.safeParse(name);
    if (!result.success) problems.push(`services.${name}: the name ${result.error.issues[0]?.message}`);
  }
  if (!names.includes(APP_SERVICE)) {
    problems.push(
      `services: has no \`${APP_SERVICE}\`, the environment's own container (DEPLOY_CONTAINER); name one service ${APP_SERVICE}`,
    );
  }
  const buildOf = (name: string, seen: readonly string[] = []): Build | undefined => {
    const s = declared[name];
    if (!s) return undefined;
    if (!s.image_of) return s.build ?? DEFAULT_BUILD;
    if (seen.includes(s.image_of)) return undefined;
    return buildOf(s.image_of, [...seen, name]);
  };
  for (const [name, s] of Object.entries(declared)) {
    if (s.image_of && !declared[s.image_of])
      problems.push(`services.${name}.image_of: there is no service ${s.image_of} in the file`);
    else if (s.image_of && !buildOf(name))
      problems.push(`services.${name}.image_of: the services name each other's image in a circle`);
  }
  if (problems.length) {
    throw new ServiceFileError(
      `${SERVICE_FILE} is not a service file lugh can deploy: ${problems.join('; ')}`,
    );
  }
  const services = names
    .map((name, index) => ({ name, index, s: declared[name]! }))
    .sort((a, b) => a.s.order - b.s.order || a.index - b.index)
    .map(
      ({ name, s }): Service => ({
        name,
        build: buildOf(name)!,
        ...(s.command ? { command: s.command } : {}),
        replicas: s.replicas,
        ...(s.port !== undefined ? { port: s.port } : {}),
        traffic: s.traffic,
        ...(s.health !== undefined ? { health: healthOf(s.health) } : {}),
        order: s.order,
      }),
    );
  return { declared: true, services };
}

function healthOf(h: z.infer<typeof health>): ServiceHealth {
  if (h === 'none' || 'http' in h) return h;
  return { command: h.command, intervalSeconds: h.interval_seconds };
}
