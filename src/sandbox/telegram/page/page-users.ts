import { SandboxUsageError } from '../user-side.js';

/** Someone the web chat page can write as; `label` names them in the user switch. */
export interface PageUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  label: string;
}

/** An admin and a stranger, so the page can show what each of them is allowed to do. */
export const defaultPageUsers: readonly PageUser[] = [
  { id: 1001, first_name: 'Ada', username: 'ada', label: 'admin' },
  { id: 2002, first_name: 'Sam', username: 'sam', label: 'stranger' },
];

/** Checks the configured users once, at start, so a typo fails there and not in the browser. */
export function readPageUsers(users: readonly PageUser[] | undefined): PageUser[] {
  const list = users && users.length > 0 ? users : defaultPageUsers;
  const seen = new Set<number>();
  return list.map((user) => {
    if (!Number.isInteger(user.id) || user.id <= 0)
      throw new SandboxUsageError(`pageUsers: id must be a positive integer (got ${user.id})`);
    if (typeof user.first_name !== 'string' || user.first_name === '')
      throw new SandboxUsageError(`pageUsers: user ${user.id} needs a first_name`);
    if (seen.has(user.id)) throw new SandboxUsageError(`pageUsers: user ${user.id} is listed twice`);
    seen.add(user.id);
    return { ...user, label: user.label || user.first_name };
  });
}
