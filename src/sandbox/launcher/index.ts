// What `lugh sandbox` loads lazily (see src/commands/sandbox.ts): never part of the product build.
import type { SandboxLauncher } from '../../commands/sandbox.js';
import { runSandbox } from './run-sandbox.js';
import { runGitHubStandIn, runTelegramStandIn } from './stand-ins-alone.js';

export const launcher: SandboxLauncher = { runSandbox, runGitHubStandIn, runTelegramStandIn };
