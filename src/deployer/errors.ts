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
