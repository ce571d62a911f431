// Values the global setup (tests/helpers/global-setup.ts) hands to every test file.
// Read them with `inject('databaseUrl')` or, better, tests/helpers/services.ts.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL to the `postgres` database of the test Postgres server. */
    databaseUrl: string;
    /** URL of the test Redis server (database 0, no password). */
    redisUrl: string;
    /**
     * lugh's CLI bundled for this run as the image's build does (deploy/bundle.ts: all but the
     * sandbox), so that a test's `lugh <command>` starts as plain node (tests/helpers/lugh-process.ts).
     */
    lughCli: string;
  }
}
