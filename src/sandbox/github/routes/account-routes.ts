import { publicUserJson } from '../account-json.js';
import { GitHubApiError } from '../errors.js';
import type { TokenGrant } from '../permissions.js';
import type { Route } from '../route-types.js';

/**
 * Who the token is: GET /user answers a personal access token's user and refuses an App's
 * installation token ("Resource not accessible by integration"), which instead lists the
 * repositories it was installed on (GET /installation/repositories), as on GitHub.
 */
export function accountRoutes(grant: () => TokenGrant, login: string): Route[] {
  return [
    {
      method: 'GET',
      path: '/user',
      operationId: 'users/get-authenticated',
      handle: async (core) => {
        if (grant().kind === 'installation')
          throw new GitHubApiError(403, 'Resource not accessible by integration');
        const account = { login, id: 7_300_001, type: 'User' as const };
        return { status: 200, body: publicUserJson(core.site, account) };
      },
    },
    {
      method: 'GET',
      path: '/installation/repositories',
      operationId: 'apps/list-repos-accessible-to-installation',
      handle: async (core) => {
        if (grant().kind !== 'installation') {
          throw new GitHubApiError(
            403,
            'You must authenticate with an installation access token in order to list repositories for an installation.',
          );
        }
        return {
          status: 200,
          body: {
            total_count: 1,
            repositories: [await core.repositoryJson()],
            repository_selection: 'selected',
          },
        };
      },
    },
  ];
}
