import type { StandInCore } from './core.js';

export interface RouteRequest {
  /** Path parameters, decoded, named as in GitHub's OpenAPI paths. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The full request URL (for Link headers). */
  readonly url: string;
  /** The JSON body (an empty object when there was none). */
  readonly body: Readonly<Record<string, unknown>>;
  /** The Accept header, for routes whose answer depends on the media type asked for. */
  readonly accept?: string;
}

export interface RouteReply {
  readonly status: number;
  readonly body?: unknown;
  /** Bytes answered as they are (a file's raw content) instead of a JSON body. */
  readonly raw?: { readonly contentType: string; readonly bytes: Buffer };
  readonly headers?: Readonly<Record<string, string>>;
}

/** One REST operation the stand-in serves, keyed by GitHub's own OpenAPI path and operationId. */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The OpenAPI path template, e.g. /repos/{owner}/{repo}/pulls/{pull_number}. */
  readonly path: string;
  readonly operationId: string;
  handle(core: StandInCore, request: RouteRequest): Promise<RouteReply>;
  /**
   * A read's answer from before the last write, which a lagging replica still serves (an
   * injected `stale` fault); undefined when there is nothing older to serve.
   */
  stale?(core: StandInCore, params: Readonly<Record<string, string>>): unknown;
}
