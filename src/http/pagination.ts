import { Type, type TProperties, type TSchema } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type ListRequest, type ListResult } from '../core/listing.ts';

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

/** The list envelope: page numbers (`count, current, next, previous, last`) or cursors (`next, previous`). */
export function listResponseSchema<T extends TSchema>(item: T) {
  const page = Type.Union([Type.Integer(), Type.Null()]);
  const cursor = Type.Union([Type.String(), Type.Null()]);
  return Type.Union([
    Type.Object({ count: Type.Integer(), current: Type.Integer(), next: page, previous: page, last: Type.Integer(), results: Type.Array(item) }, { title: 'Page' }),
    Type.Object({ next: cursor, previous: cursor, results: Type.Array(item) }, { title: 'CursorPage' }),
  ]);
}

export function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

function pageUrl(request: FastifyRequest, params: Record<string, string | number>): string {
  const url = new URL(request.url, baseUrl(request));
  url.pathname = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  return url.toString();
}

/** Renders a list result with `Per-Page`, `Total` and `Link` headers (RFC 8288). */
export function sendList<Row, Wire>(request: FastifyRequest, reply: FastifyReply, result: ListResult<Row>, render: (row: Row) => Wire) {
  const results = result.items.map(render);
  const links: string[] = [];
  if (result.style === 'page') {
    const { page, pageSize, lastPage, count } = result;
    reply.header('per-page', String(pageSize)).header('total', String(count));
    const next = page < lastPage ? page + 1 : null;
    const previous = page > 1 ? page - 1 : null;
    links.push(`<${pageUrl(request, { page: 1, page_size: pageSize })}>; rel="first"`);
    if (previous) links.push(`<${pageUrl(request, { page: previous, page_size: pageSize })}>; rel="prev"`);
    if (next) links.push(`<${pageUrl(request, { page: next, page_size: pageSize })}>; rel="next"`);
    links.push(`<${pageUrl(request, { page: lastPage, page_size: pageSize })}>; rel="last"`);
    reply.header('link', links.join(', '));
    return { count, current: page, next, previous, last: lastPage, results };
  }
  if (result.previous) links.push(`<${pageUrl(request, { cursor: result.previous })}>; rel="prev"`);
  if (result.next) links.push(`<${pageUrl(request, { cursor: result.next })}>; rel="next"`);
  if (links.length) reply.header('link', links.join(', '));
  return { next: result.next, previous: result.previous, results };
}
