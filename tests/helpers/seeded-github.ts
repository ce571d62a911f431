// The GitHub stand-in over a freshly seeded repository (develop three commits ahead of
// main), and lugh's forge talking to it with retries and throttling off.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGitHubClient } from '../../src/forge/github/github-client.js';
import { createGitHubForge } from '../../src/forge/github/github-forge.js';
import { seedSandboxRepository, startGitHubStandIn } from '../../src/sandbox/github/index.js';
import { silentLogger as logger } from './logger.js';

export async function startSeededGitHub(
  token = 'ghs_seededGitHubTestToken',
  webhook?: { url: string; secret: string },
) {
  const repoDir = path.join(mkdtempSync(path.join(tmpdir(), 'lugh-seeded-')), 'repo.git');
  const seeded = await seedSandboxRepository(repoDir);
  const gh = await startGitHubStandIn({ repoDir, token, webhook });
  const forge = createGitHubForge(
    createGitHubClient({ token, apiUrl: gh.apiUrl, logger, resilient: false }),
    gh.repo,
  );
  return { gh, forge, seeded, repoDir };
}
