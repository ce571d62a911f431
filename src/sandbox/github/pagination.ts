import { invalidField } from './errors.js';

/**
 * One page of `items` by GitHub's per_page (default 30, at most 100) and page, with the Link
 * header Octokit's paginate follows.
 */
export function paginate<T>(
  items: readonly T[],
  query: URLSearchParams,
  url: string,
): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Math.max(1, Number(query.get('per_page') ?? 30) || 30));
  const pageNumber = Number(query.get('page') ?? 1);
  if (!Number.isInteger(pageNumber) || pageNumber < 1) throw invalidField('Pagination', 'page');
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const page = items.slice((pageNumber - 1) * perPage, pageNumber * perPage);
  const link = (n: number, rel: string) => {
    const next = new URL(url);
    next.searchParams.set('per_page', String(perPage));
    next.searchParams.set('page', String(n));
    return `<${next.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNumber > 1) links.push(link(pageNumber - 1, 'prev'), link(1, 'first'));
  if (pageNumber < last) links.push(link(pageNumber + 1, 'next'), link(last, 'last'));
  return { page, headers: links.length > 0 ? { link: links.join(', ') } : {} };
}
