import { describe, expect, it } from 'vitest';
import {
  formatMigrationReport,
  MIGRATION_REPORT_PREFIX,
  parseMigrationReport,
} from '../../../src/deployer/migration-report.js';
import { MIGRATIONS_DIR } from '../../../src/store/migrate.js';
import {
  irreversibleMigrations,
  MigrationMarkerError,
  parseMigrationMarkers,
} from '../../../src/store/migration-markers.js';

const body =
  '-- Up Migration\nALTER TABLE t DROP COLUMN c;\n\n-- Down Migration\nALTER TABLE t ADD COLUMN c int;\n';

describe('a migration’s header markers', () => {
  it('a migration without a marker is reversible', () => {
    expect(parseMigrationMarkers('0001_x', body)).toEqual({});
    expect(parseMigrationMarkers('0001_x', `-- adds a table, nothing else\n${body}`)).toEqual({});
  });

  it('“-- lugh:irreversible <why>” above the Up section marks it irreversible, with why', () => {
    expect(
      parseMigrationMarkers('0005_x', `-- lugh:irreversible drops t.c and its values\n\n${body}`),
    ).toEqual({ irreversible: 'drops t.c and its values' });
    // Spacing and case as people type them.
    expect(parseMigrationMarkers('0005_x', `--lugh: irreversible   rewrites t.c  \r\n${body}`)).toEqual({
      irreversible: 'rewrites t.c',
    });
  });

  it('a marker with no reason, misspelt, repeated or below the Up section is an error naming the file, never “reversible”', () => {
    const problem = (sql: string) => {
      try {
        parseMigrationMarkers('0042_y', sql);
      } catch (error) {
        expect(error).toBeInstanceOf(MigrationMarkerError);
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(problem(`-- lugh:irreversible\n${body}`)).toMatch(/^0042_y: .*needs a reason/);
    expect(problem(`-- lugh:irreversable drops c\n${body}`)).toMatch(
      /^0042_y: unknown directive “lugh:irreversable”/,
    );
    expect(problem(`-- lugh:irreversible a\n-- lugh:irreversible b\n${body}`)).toMatch(/twice/);
    expect(problem(`${body}-- lugh:irreversible drops c\n`)).toMatch(/below “-- Up Migration”/);
  });

  it('of lugh’s own migrations, exactly the column drop (0005) is marked irreversible', () => {
    expect([...irreversibleMigrations(MIGRATIONS_DIR).keys()]).toEqual([
      '0005_deployments_without_promotion',
    ]);
    expect(irreversibleMigrations(MIGRATIONS_DIR).get('0005_deployments_without_promotion')).toMatch(
      /promotion_id/,
    );
  });
});

describe('the lugh.migrations line a migrate command prints', () => {
  const report = {
    applied: ['0005_deployments_without_promotion', '0009_deployment_migrations'],
    irreversible: [{ name: '0005_deployments_without_promotion', why: 'drops a column' }],
  };

  it('round-trips, and the last such line among the container’s output wins', () => {
    const line = formatMigrationReport(report);
    expect(line.startsWith(MIGRATION_REPORT_PREFIX)).toBe(true);
    const older = formatMigrationReport({ applied: [], irreversible: [] });
    expect(parseMigrationReport(['{"level":30,"msg":"applied 2"}', older, line, 'bye'])).toEqual(report);
  });

  it('no line is “not reported” (undefined), not “nothing applied”', () => {
    expect(parseMigrationReport(['applied 2 migration(s)'])).toBeUndefined();
  });

  it('a garbled line is an error, not “nothing irreversible”', () => {
    expect(() => parseMigrationReport([`${MIGRATION_REPORT_PREFIX}{oops`])).toThrow(/not JSON/);
    expect(() =>
      parseMigrationReport([`${MIGRATION_REPORT_PREFIX}{"applied":"x","irreversible":[]}`]),
    ).toThrow(/is not/);
    // An irreversible migration it did not apply.
    expect(() =>
      parseMigrationReport([
        `${MIGRATION_REPORT_PREFIX}{"applied":[],"irreversible":[{"name":"0005_x","why":"w"}]}`,
      ]),
    ).toThrow(/each irreversible one applied/);
  });
});
