import { Type, type TProperties, type TSchema } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type ListRequest, type ListResult } from '../../core/listing.ts';
import { baseUrl } from '../../http/surface.ts';

/** Query parameters every collection accepts, plus its own filters. */
export function listQuerySchema<F extends TProperties>(filters: F) {
  return Type.Object({
    page: Type.Optional(Type.Integer({ minimum: 1, description: 'Page number (page-number pagination).' })),
    page_size: Type.Optional(Type.Integer({ minimum: 1, description: `Items per page, at most ${MAX_PAGE_SIZE}.` })),
    cursor: Type.Optional(Type.String({ maxLength: 2000, description: 'Opaque cursor; an empty value starts cursor pagination.' })),
    search: Type.Optional(Type.String({ maxLength: 200 })),
    ordering: Type.Optional(Type.String({ maxLength: 200, description: 'Field name, `-` for descending; comma-separated.' })),
    ...filters,
  });
}

export interface ListQuery {
  page?: number;
  page_size?: number;
  cursor?: string;
  search?: string;
  ordering?: string;
  [filter: string]: unknown;
}

const RESERVED = new Set(['page', 'page_size', 'cursor', 'search', 'ordering', 'org_id']);

/** Page numbers by default; `cursor` (even empty) selects keyset pagination. */
export function toListRequest(query: ListQuery): ListRequest {
  const pageSize = Math.min(query.page_size ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const filters: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (!RESERVED.has(name) && typeof value === 'string') filters[name] = value;
  }
  return {
    filters,
    search: query.search?.trim() || undefined,
    ordering: query.ordering?.trim() || undefined,
    pagination: query.cursor !== undefined ? { style: 'cursor', cursor: query.cursor || null, pageSize } : { style: 'page', page: query.page ?? 1, pageSize },
  };
}

/**
 * The list envelope: page numbers (`count, current, next, previous, last`) or cursors (`next,
 * previous`). One object schema rather than a union of the two: serializing a union makes
 * the serializer validate every item to pick a branch, which costs more than the rest of it.
 */
export function listResponseSchema<T extends TSchema>(item: T) {
  const link = Type.Union([Type.Integer(), Type.String(), Type.Null()], { description: 'A page number, or with `cursor` an opaque cursor; null at either end.' });
  const pageOnly = (description: string) => Type.Optional(Type.Integer({ description: `${description} (page-number pagination only).` }));
  return Type.Object(
    { count: pageOnly('Total number of items'), current: pageOnly('This page'), next: link, previous: link, last: pageOnly('Last page'), results: Type.Array(item) },
    { title: 'Page' },
  );
}

/**
 * Absolute URLs to other pages of this list: the request's own URL (path with its trailing
 * slash, every query parameter kept) with the pagination parameters replaced by `query`, which
 * the caller encodes.
 */
function pageLinks(request: FastifyRequest, replaced: readonly string[]): (query: string) => string {
  const queryStart = request.url.indexOf('?');
  const path = queryStart < 0 ? request.url : request.url.slice(0, queryStart);
  const kept = keptParameters(queryStart < 0 ? '' : request.url.slice(queryStart + 1), replaced);
  const prefix = `${baseUrl(request)}${path.endsWith('/') ? path : `${path}/`}?${kept ? `${kept}&` : ''}`;
  return (query) => prefix + query;
}

/**
 * The query string without the `replaced` parameters, encoded again. Most list requests carry
 * only those (`?page_size=20`), which is seen without parsing: a name written as it is.
 */
function keptParameters(query: string, replaced: readonly string[]): string {
  const isReplaced = (pair: string) => {
    const equals = pair.indexOf('=');
    return replaced.includes(equals < 0 ? pair : pair.slice(0, equals));
  };
  if (query === '' || query.split('&').every(isReplaced)) return '';
  const kept = new URLSearchParams(query);
  for (const name of replaced) kept.delete(name);
  return kept.toString();
}

/** Renders a list result with `Per-Page`, `Total` and `Link` headers (RFC 8288). */
export function sendList<Row, Wire>(request: FastifyRequest, reply: FastifyReply, result: ListResult<Row>, render: (row: Row) => Wire) {
  const results = result.items.map(render);
  const links: string[] = [];
  if (result.style === 'page') {
    const { page, pageSize, lastPage, count } = result;
    const pageUrl = pageLinks(request, ['page', 'page_size']);
    reply.header('per-page', String(pageSize)).header('total', String(count));
    const next = page < lastPage ? page + 1 : null;
    const previous = page > 1 ? page - 1 : null;
    // Whole numbers: written as they are, as URLSearchParams would.
    const pageAt = (number: number) => pageUrl(`page=${number}&page_size=${pageSize}`);
    links.push(`<${pageAt(1)}>; rel="first"`);
    if (previous) links.push(`<${pageAt(previous)}>; rel="prev"`);
    if (next) links.push(`<${pageAt(next)}>; rel="next"`);
    links.push(`<${pageAt(lastPage)}>; rel="last"`);
    reply.header('link', links.join(', '));
    return { count, current: page, next, previous, last: lastPage, results };
  }
  const cursorUrl = pageLinks(request, ['cursor']);
  const cursorAt = (cursor: string) => cursorUrl(new URLSearchParams({ cursor }).toString());
  if (result.previous) links.push(`<${cursorAt(result.previous)}>; rel="prev"`);
  if (result.next) links.push(`<${cursorAt(result.next)}>; rel="next"`);
  if (links.length) reply.header('link', links.join(', '));
  return { next: result.next, previous: result.previous, results };
}
