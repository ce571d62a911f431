import { nodeId, type Site, stableId } from './site.js';

export interface Account {
  readonly login: string;
  readonly id: number;
  readonly type: 'User' | 'Organization' | 'Bot';
}

/** The organisation that owns the repository. */
export function ownerAccount(site: Site): Account {
  return { login: site.owner, id: stableId(`org:${site.owner}`), type: 'Organization' };
}

/** Who the token acts as: a GitHub App installation, like lugh's real token. */
export const botAccount: Account = { login: 'lugh-sandbox[bot]', id: 41_898_282, type: 'Bot' };

/** GitHub links a commit to the account of its e-mail; here every e-mail is one, named by its local part. */
export function accountForEmail(email: string): Account {
  const login = email.split('@', 1)[0]!.replace(/[^A-Za-z0-9-]/g, '-') || 'ghost';
  return { login, id: stableId(`user:${email.toLowerCase()}`), type: 'User' };
}

/** simple-user */
export function userJson(site: Site, account: Account) {
  const url = `${site.apiUrl}/users/${encodeURIComponent(account.login)}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId(account.type === 'Organization' ? 'O' : account.type === 'Bot' ? 'BOT' : 'U', account.id),
    avatar_url: `${site.apiUrl}/avatars/u/${account.id}?v=4`,
    gravatar_id: '',
    url,
    html_url: `${site.apiUrl}/${encodeURIComponent(account.login)}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: account.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

const actionsOwner: Account = { login: 'github', id: 9919, type: 'Organization' };

/** The GitHub Actions app, which owns the scripted CI's check runs and suites. */
export function actionsAppJson(site: Site) {
  return {
    id: 15368,
    slug: 'github-actions',
    client_id: 'Iv1.05c79e9ad1f6bdfa',
    node_id: 'MDM6QXBwMTUzNjg=',
    owner: userJson(site, actionsOwner),
    name: 'GitHub Actions',
    description: 'Automate your workflow from idea to production',
    external_url: 'https://help.github.com/en/actions',
    html_url: 'https://github.com/apps/github-actions',
    created_at: '2018-07-30T09:30:17Z',
    updated_at: '2024-04-10T20:33:16Z',
    permissions: {
      actions: 'write',
      checks: 'write',
      contents: 'write',
      metadata: 'read',
      statuses: 'write',
    },
    events: ['check_run', 'check_suite', 'push', 'pull_request', 'workflow_dispatch'],
  };
}

/** public-user: who a personal access token acts as (GET /user). */
export function publicUserJson(site: Site, account: Account) {
  return {
    ...userJson(site, account),
    user_view_type: 'public',
    name: account.login,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    public_repos: 1,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: site.createdAt,
    updated_at: site.createdAt,
  };
}
