// The preview settings checked across settings and environments: previews need their
// address, and nothing they are given may lead to production (a preview runs a pull
// request's code, which nobody has reviewed yet). Production's own env file, when known
// (`lugh config` reads it beside this one), adds the checks by value.
import { type AppEnv, ENVIRONMENTS } from './environments.js';
import { isPlaceholder } from './placeholder.js';
import { previewSettings } from './previews.js';
import type { Setting } from './setting.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface PreviewProblem {
  readonly variable: string;
  readonly message: string;
}

/** Production's settings as its env file (and .local) give them, and the file's name for the messages. */
export interface OtherEnvironment {
  readonly env: Env;
  readonly from: string;
}

const { urlTemplate, databaseAdminUrl, databaseHost, dataNetwork, redisUrl, proxyAdminUrl, proxyContainer } =
  previewSettings.previews;

const production = ENVIRONMENTS.production;
const staging = ENVIRONMENTS.staging;
const carriesProd = (value: string) => value.toLowerCase().includes(production.marker);

/** Production's networks by name: the infra project's data network and its compose project's own. */
const PRODUCTION_NETWORKS = [`lugh-${production.marker}-data`];

interface UrlParts {
  readonly host: string;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

function partsOf(url: string | undefined): UrlParts | undefined {
  if (!url || !URL.canParse(url)) return undefined;
  const u = new URL(url);
  return {
    host: `${u.hostname}:${u.port}`,
    user: u.searchParams.getAll('user').at(-1) || decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
}

const realSecret = (value: string) => value.length > 0 && !isPlaceholder(value);

/** What is wrong with the preview settings of `appEnv`'s environment; `other`: production's, when known. */
export function previewProblems(input: {
  readonly appEnv: AppEnv;
  readonly env: Env;
  /** The `previews` flag as resolved. */
  readonly previewsOn: boolean;
  /** Variables already found wrong on their own: not checked again. */
  readonly invalid: ReadonlySet<string>;
  readonly other?: OtherEnvironment;
}): PreviewProblem[] {
  const { appEnv, env, invalid } = input;
  if (appEnv !== 'staging') return [];
  const value = (variable: string) =>
    invalid.has(variable) ? undefined : env[variable]?.trim() || undefined;
  const problems: PreviewProblem[] = [];
  const add = (variable: string, message: string) => problems.push({ variable, message });
  const prod = input.other?.env;
  const theirs = (what: string) => `production's ${what}${input.other ? ` (${input.other.from})` : ''}`;

  if (input.previewsOn && !env[urlTemplate.variable]?.trim())
    add(
      urlTemplate.variable,
      'is required while previews are on (FEATURE_PREVIEWS=true): set it to each preview’s address with {n} where the pull request number goes, e.g. https://pr-{n}.preview.example.com (http://pr-{n}.preview.localhost:8080/ on one machine), or set FEATURE_PREVIEWS=false.',
    );

  // A setting that works only with another: without it, it would silently do nothing.
  const needs = (given: Setting, missing: Setting, why: string) => {
    if (env[given.variable]?.trim() && !env[missing.variable]?.trim())
      add(
        given.variable,
        `is set, but ${missing.variable} is not: ${why}. Set ${missing.variable} too, or unset ${given.variable}.`,
      );
  };
  needs(
    proxyContainer,
    proxyAdminUrl,
    'lugh connects that container to previews only to route them through its admin API',
  );
  needs(databaseHost, databaseAdminUrl, 'previews get a database only through the admin URL');

  const admin = partsOf(value(databaseAdminUrl.variable));
  if (admin) {
    const prodDb = partsOf(prod?.DATABASE_URL);
    const fix = `Point it at staging’s Postgres server as a role made for previews (CREATEDB CREATEROLE, e.g. lugh_previews) and its maintenance database: postgres://lugh_previews:…@lugh-postgres:5432/postgres.`;
    if (carriesProd(admin.database) || (prodDb && admin.database === prodDb.database))
      add(
        databaseAdminUrl.variable,
        `names database "${admin.database}", which belongs to production. ${fix}`,
      );
    else if (carriesProd(admin.user) || (prodDb && admin.user === prodDb.user))
      add(databaseAdminUrl.variable, `connects as role "${admin.user}", which belongs to production. ${fix}`);
    else if (prodDb && realSecret(prodDb.password) && admin.password === prodDb.password)
      add(databaseAdminUrl.variable, `uses the password of ${theirs('DATABASE_URL')}. ${fix}`);
  }

  const network = value(dataNetwork.variable);
  if (network) {
    const project = prod?.COMPOSE_PROJECT_NAME?.trim();
    const ofProject = project && (network === `${project}_default` || network.startsWith(`${project}_`));
    if (carriesProd(network) || PRODUCTION_NETWORKS.includes(network) || ofProject)
      add(
        dataNetwork.variable,
        `is "${network}", ${ofProject ? `a network of ${theirs('compose project')} ${project}` : 'production’s network'}: every preview would join it and could reach production’s app and database. Set it to staging’s data network, lugh-${staging.marker}-data, or leave it unset.`,
      );
  }

  const redis = partsOf(value(redisUrl.variable));
  if (redis) {
    const prodRedis = partsOf(prod?.REDIS_URL);
    const fix = `Give previews staging’s Redis URL (lugh makes each preview an ACL user limited to preview:pr<n>:), never production’s user or password.`;
    if (!redis.password)
      add(
        redisUrl.variable,
        `has no password: a Redis whose default user needs none lets every preview in as that user, to every other preview's keys and whatever else that Redis holds. Give the previews' Redis a password for its default user (requirepass, or ACL SETUSER default off) and an ACL user for lugh that may manage users, and set redis://<user>:<password>@host:6379 here; until then previews get no Redis.`,
      );
    else if (redis.user && (carriesProd(redis.user) || (prodRedis && redis.user === prodRedis.user)))
      add(redisUrl.variable, `logs in as "${redis.user}", production’s Redis user. ${fix}`);
    else if (prodRedis && realSecret(prodRedis.password) && redis.password === prodRedis.password)
      add(redisUrl.variable, `uses the password of ${theirs('REDIS_URL')}. ${fix}`);
  }

  const proxy = value(proxyContainer.variable);
  if (proxy) {
    const prodApps = [production.appContainer, prod?.DEPLOY_CONTAINER?.trim()];
    const stagingApps = [staging.appContainer, env.DEPLOY_CONTAINER?.trim()];
    const whose =
      carriesProd(proxy) || prodApps.includes(proxy)
        ? 'production’s'
        : stagingApps.includes(proxy)
          ? 'staging’s app'
          : undefined;
    if (whose)
      add(
        proxyContainer.variable,
        `is "${proxy}", ${whose} container: lugh connects the proxy container to every preview’s network, so each preview could reach it. Name the Caddy container (e.g. lugh-preview-proxy), or leave it unset when Caddy runs on the host.`,
      );
  }
  return problems;
}

/** A note for production's configuration: PREVIEW_* settings there do nothing. */
export function previewWarnings(appEnv: AppEnv, env: Env): string[] {
  if (appEnv !== 'production') return [];
  const set = Object.values(previewSettings.previews)
    .map((s) => s.variable)
    .filter((v) => env[v]?.trim());
  return set.length
    ? [
        `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} ignored: production never runs previews (only staging does).`,
      ]
    : [];
}
