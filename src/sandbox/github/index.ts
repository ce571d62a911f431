/**
 * A local stand-in for GitHub's REST API that Octokit cannot tell from api.github.com, backed by
 * a real git repository. It depends on node built-ins only: the product must never import it
 * (see DESIGN §7).
 */
export type { PlannedCheck } from './check-plans.js';
export type { FaultSpec } from './faults.js';
export { DEFAULT_PERMISSIONS, type Permissions, type TokenGrant } from './permissions.js';
export type { OpenedPullRequest, OpenPullInput, PushCommitInput } from './pull-lifecycle.js';
export type { ForkPullInput } from './pull-open.js';
export { seedSandboxRepository } from './seed-repository.js';
export type { RequestLogEntry } from './server.js';
export { type GitHubStandIn, type GitHubStandInOptions, startGitHubStandIn } from './stand-in.js';
export type { CheckConclusion } from './state.js';
export { signatureFor, type WebhookContentType } from './webhook-sender.js';
