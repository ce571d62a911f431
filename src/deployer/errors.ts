/** A deploy failure that carries the last output lines of what failed (a build, a container). */
export class DeployFailureWithLog extends Error {
  constructor(
    message: string,
    readonly logTail: readonly string[],
  ) {
    super(message);
  }
}

/** The build failed: `logTail` holds the build's last output lines, ending with its error. */
export class BuildFailedError extends DeployFailureWithLog {
  override name = 'BuildFailedError';
}

/** The new version never became healthy before the switch: it was removed, the old one never stopped. */
export class UnhealthyBeforeSwitchError extends DeployFailureWithLog {
  override name = 'UnhealthyBeforeSwitchError';
}

/** The new version failed after the switch: the previous container runs again. */
export class RolledBackError extends DeployFailureWithLog {
  override name = 'RolledBackError';
}

/** The one-off migration container exited non-zero: nothing was switched, the backup is kept. */
export class MigrationFailedError extends DeployFailureWithLog {
  override name = 'MigrationFailedError';
}

/** pg_dump failed: a production deploy does not go on without its backup. */
export class BackupFailedError extends DeployFailureWithLog {
  override name = 'BackupFailedError';
}

/** Another deployment or a person holds the environment's deploy lock. */
export class LockedError extends Error {
  override name = 'LockedError';
}

/**
 * Did a Docker call fail because the engine did not answer: its socket refused or was
 * missing (a dockerd that is down or was started again), or dropped the call in flight?
 */
export function isEngineUnreachable(error: unknown): boolean {
  const e = error as { code?: string; syscall?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EPIPE') return true;
  if (e.code === 'ENOENT' && e.syscall === 'connect') return true;
  return e.message === 'socket hang up';
}

/**
 * A deploy's Docker call found the engine unreachable: the deploy is not finished as
 * failed (the app may be down half-way through a switch). The runner exits instead, and
 * Docker's restart policy starts it again once the engine answers: it converges and resumes.
 */
export class EngineUnreachableError extends Error {
  override name = 'EngineUnreachableError';
  constructor(override readonly cause: unknown) {
    super(describeDockerError(cause));
  }
}

/**
 * What a Docker failure means to the person reading it: an engine that does not answer,
 * a full disk, or Docker's own message.
 */
export function describeDockerError(error: unknown): string {
  const e = error as { code?: string; message?: string; json?: { message?: string } };
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT' || e.code === 'EACCES')
    return `the Docker engine is unreachable (${e.code}): is dockerd running, and is its socket mounted?`;
  const message = e.json?.message ?? e.message ?? String(error);
  if (/no space left on device/i.test(message))
    return `the Docker host is out of disk space (${message.trim()}): free space (old images, volumes) and deploy again`;
  return message;
}

/** pg_restore failed: its transaction changed nothing; `logTail` holds its last lines. */
export class RestoreFailedError extends DeployFailureWithLog {
  override name = 'RestoreFailedError';
}

/**
 * Thrown into a run whose process is stopping and leaves it to the next run (`leave`): it
 * ends nothing and undoes nothing; the row stays running and the lock held.
 */
export class LeftToNextRunError extends Error {
  constructor() {
    super('this process is stopping: the deploy is left to the next run, which resumes it');
    this.name = 'LeftToNextRunError';
  }
}
