import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import formatsPlugin from 'ajv-formats';

type Json = Record<string, unknown>;

const SPEC_PATH = new URL(
  '../../node_modules/@octokit/openapi/generated/api.github.com.json',
  import.meta.url,
);

/**
 * OpenAPI 3.0 says `nullable: true`; JSON Schema (ajv) says `type: [..., 'null']`. Converts a
 * schema tree, and points local $refs at the shared components document.
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === 'nullable' || key === 'example' || key === 'examples' || key.startsWith('x-')) continue;
    if (key === '$ref' && typeof value === 'string') out[key] = value.replace(/^#\//, 'gh#/');
    else if (key === 'properties' && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, toJsonSchema(v)]));
    } else out[key] = toJsonSchema(value);
  }
  if ((node as Json).nullable !== true) return out;
  if (typeof out.type === 'string' && out.$ref === undefined) {
    const nullable: Json = { ...out, type: [out.type, 'null'] };
    if (Array.isArray(out.enum) && !out.enum.includes(null)) nullable.enum = [...out.enum, null];
    return nullable;
  }
  return { anyOf: [out, { type: 'null' }] };
}

export interface OpenApiValidator {
  /** GitHub's operationId for a route, e.g. "pulls/get". */
  operationId(method: string, path: string): string | undefined;
  /** Whether the description has a JSON body schema for this operation and status. */
  hasResponseSchema(method: string, path: string, status: number): boolean;
  /** ajv's errors for a response body; empty when it validates. */
  validateResponse(method: string, path: string, status: number, body: unknown): string[];
  /** Whether the description has a payload schema for this webhook (e.g. "pull-request-opened"). */
  hasWebhook(name: string): boolean;
  validateWebhook(name: string, payload: unknown): string[];
}

/**
 * GitHub's published OpenAPI description (`@octokit/openapi`, api.github.com) as ajv validators.
 * The 13 MB file is read once; only the operations and webhooks asked about are compiled.
 */
export function loadGitHubOpenApi(): OpenApiValidator {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as {
    paths: Record<string, Record<string, { operationId: string; responses: Record<string, Json> }>>;
    'x-webhooks': Record<string, { post: { requestBody: { content: Record<string, { schema: Json }> } } }>;
    components: { schemas: Json; responses: Record<string, Json> };
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  // ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
  const plugin = formatsPlugin as unknown as { default?: unknown };
  const addFormats = (plugin.default ?? formatsPlugin) as (instance: Ajv) => unknown;
  addFormats(ajv);
  // GitHub's own answers put "" in fields it declares as format uri (e.g. a deployment status's target_url).
  const uri = /^[a-z][a-z0-9+.-]*:[^\s]*$/i;
  ajv.addFormat('uri', (value: string) => value === '' || uri.test(value));
  ajv.addSchema({ $id: 'gh', components: { schemas: toJsonSchema(spec.components.schemas) } });
  const cache = new Map<string, ValidateFunction>();

  const responseSchema = (method: string, path: string, status: number): Json | undefined => {
    const operation = spec.paths[path]?.[method.toLowerCase()];
    let response = operation?.responses[String(status)];
    if (typeof response?.$ref === 'string')
      response = spec.components.responses[response.$ref.split('/').pop()!];
    const content = response?.content as Record<string, { schema?: Json }> | undefined;
    return content?.['application/json']?.schema;
  };
  const errorsOf = (validate: ValidateFunction, data: unknown) =>
    validate(data)
      ? []
      : (validate.errors ?? []).map(
          (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
        );

  return {
    operationId: (method, path) => spec.paths[path]?.[method.toLowerCase()]?.operationId,
    hasResponseSchema: (method, path, status) => responseSchema(method, path, status) !== undefined,
    validateResponse(method, path, status, body) {
      const key = `${method} ${path} ${status}`;
      let validate = cache.get(key);
      if (!validate) {
        const schema = responseSchema(method, path, status);
        if (!schema) return [`no response schema for ${key}`];
        validate = ajv.compile(toJsonSchema(schema) as Json);
        cache.set(key, validate);
      }
      return errorsOf(validate, body);
    },
    hasWebhook: (name) => spec['x-webhooks'][name] !== undefined,
    validateWebhook(name, payload) {
      const key = `webhook ${name}`;
      let validate = cache.get(key);
      if (!validate) {
        const schema = spec['x-webhooks'][name]?.post.requestBody.content['application/json']?.schema;
        if (!schema) return [`no webhook schema for ${name}`];
        validate = ajv.compile(toJsonSchema(schema) as Json);
        cache.set(key, validate);
      }
      return errorsOf(validate, payload);
    },
  };
}
