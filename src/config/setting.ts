import type { z } from 'zod';
import type { AppEnv, EnvironmentIdentity } from './environments.js';

/**
 * What a default may depend on: the environment, the admins (the fallback chat), and the
 * runtime (what DEPLOY_CONTAINER names).
 */
export interface DefaultContext {
  readonly appEnv: AppEnv;
  readonly environment: EnvironmentIdentity;
  readonly adminIds: readonly number[];
  readonly runtime: 'docker' | 'swarm';
}

type Fallback<V> = V | ((context: DefaultContext) => V);

interface Row<S extends z.ZodType, V> {
  /** The environment variable. */
  readonly variable: string;
  /** Checks the raw value (undefined when absent) and converts it; undefined means "not set". */
  readonly schema: S;
  /** What `lugh config` prints for the value; a secret must never be printed as-is. */
  readonly describe?: ((value: V) => unknown) | 'hidden';
  /** The forms in which the value is a secret, for redaction (e.g. a URL's password). */
  readonly secret?: (value: string) => readonly (string | undefined)[];
  /** The README's notes for the variable. */
  readonly description: string;
  /** The README's cell for an environment, when the default does not say it. */
  readonly docs?: (appEnv: AppEnv) => string;
}

/** One environment variable: declared once, it feeds the schema, the type, docs, secrets and `lugh config`. */
export interface Setting<S extends z.ZodType = z.ZodType, HasDefault extends boolean = boolean>
  extends Row<S, unknown> {
  readonly default?: Fallback<unknown>;
  /** Type-level only: whether a default fills the value when the variable is not set. */
  readonly hasDefault?: HasDefault;
}

export function setting<S extends z.ZodType>(
  row: Row<S, NonNullable<z.output<S>>> & { readonly default: Fallback<NonNullable<z.output<S>>> },
): Setting<S, true>;
export function setting<S extends z.ZodType>(row: Row<S, z.output<S>>): Setting<S, false>;
export function setting(row: Row<z.ZodType, never> & { default?: unknown }): Setting {
  return row as Setting;
}

/** Sections nest settings in the shape the typed configuration has. */
export interface SettingTree {
  readonly [key: string]: Setting | SettingTree;
}

export function isSetting(node: Setting | SettingTree): node is Setting {
  return typeof node.variable === 'string' && 'schema' in node;
}

type ValueOf<T> =
  T extends Setting<infer S, infer D> ? (D extends true ? NonNullable<z.output<S>> : z.output<S>) : never;
type Node<T> = T extends Setting ? ValueOf<T> : Shape<T>;
type UnsetKeys<T> = {
  [K in keyof T]: T[K] extends Setting ? (undefined extends ValueOf<T[K]> ? K : never) : never;
}[keyof T];
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** The typed configuration a tree of settings produces; a setting that may be unset is optional. */
export type Shape<T> = Flat<
  { readonly [K in Exclude<keyof T, UnsetKeys<T>>]: Node<T[K]> } & {
    readonly [K in UnsetKeys<T>]?: Exclude<Node<T[K]>, undefined>;
  }
>;

/** Every setting of a tree, in declaration order. */
export function settingsOf(tree: SettingTree): Setting[] {
  return Object.values(tree).flatMap((node) => (isSetting(node) ? [node] : settingsOf(node)));
}

/** The value a setting takes when its variable is not set, if any. */
export function defaultOf(setting: Setting, context: DefaultContext): unknown {
  const fallback = setting.default;
  return typeof fallback === 'function' ? (fallback as (c: DefaultContext) => unknown)(context) : fallback;
}
