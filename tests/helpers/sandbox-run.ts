// `npm run sandbox` as the page tests start it: the README's command in its own process
// group (npm runs the sandbox as its child), with everything it prints kept for the
// assertions and for a failure's message.
import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from './lugh-process.js';

export interface SandboxRun {
  readonly child: ChildProcess;
  /** All the sandbox printed so far, stdout and stderr together. */
  output(): string;
  /** Ctrl-C: SIGINT to the whole process group. */
  interrupt(): void;
}

export function startSandbox(): SandboxRun {
  const child = spawn('npm', ['run', 'sandbox', '--', '--port', '0'], {
    cwd: REPO_ROOT,
    detached: true,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer | string) => {
    out += d;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    output: () => out,
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
  };
}

/** For afterAll: interrupts a sandbox still running; one already gone is left alone. */
export function stopSandbox(run: SandboxRun | undefined): void {
  if (!run?.child.pid || run.child.exitCode !== null) return;
  try {
    run.interrupt();
  } catch {
    // already gone
  }
}
