/**
 * How a migration container tells the deploy what it applied. lugh deploys any image, so
 * it cannot know an app's migrations table; instead the command of the image's
 * `lugh.migrate` label may print, as its last line, `lugh.migrations <json>` with
 * `{"applied":[names],"irreversible":[{"name","why"}]}`. `lugh migrate` does; an image
 * that prints nothing is recorded as "not reported", never as "nothing irreversible".
 */
export const MIGRATION_REPORT_PREFIX = 'lugh.migrations ';

export interface MigrationReport {
  readonly applied: readonly string[];
  readonly irreversible: ReadonlyArray<{ readonly name: string; readonly why: string }>;
}

/** The line a migrate command prints last. */
export function formatMigrationReport(report: MigrationReport): string {
  return `${MIGRATION_REPORT_PREFIX}${JSON.stringify({ applied: report.applied, irreversible: report.irreversible })}`;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;

/**
 * The report among a container's last lines (the last one wins), or undefined when there is
 * none. A line that starts like one but does not parse is an error: the deploy must not
 * take a garbled report for "nothing irreversible".
 */
export function parseMigrationReport(lines: readonly string[]): MigrationReport | undefined {
  const line = [...lines].reverse().find((l) => l.startsWith(MIGRATION_REPORT_PREFIX));
  if (line === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(line.slice(MIGRATION_REPORT_PREFIX.length));
  } catch {
    throw new Error(`the migration printed a ${MIGRATION_REPORT_PREFIX.trim()} line that is not JSON`);
  }
  const { applied, irreversible } = (data ?? {}) as { applied?: unknown; irreversible?: unknown };
  if (
    !Array.isArray(applied) ||
    !applied.every(isString) ||
    !Array.isArray(irreversible) ||
    !irreversible.every(
      (m) =>
        isString((m as { name?: unknown })?.name) &&
        isString((m as { why?: unknown })?.why) &&
        applied.includes((m as { name: string }).name),
    )
  )
    throw new Error(
      `the migration's ${MIGRATION_REPORT_PREFIX.trim()} line is not {"applied":[names],"irreversible":[{"name","why"}]} with each irreversible one applied`,
    );
  return {
    applied,
    irreversible: irreversible.map((m: { name: string; why: string }) => ({ name: m.name, why: m.why })),
  };
}
