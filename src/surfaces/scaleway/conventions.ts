import { Type, type TProperties } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFound } from '../../core/errors.ts';
import { MAX_PAGE_SIZE, type ListRequest, type ListResult } from '../../core/listing.ts';
import { surfaceUrl } from '../../http/surface.ts';

/**
 * Scaleway's list conventions: `page` and `per_page` (50 by default, at most 100), the total in
 * `X-Total-Count`, and a `Link` header with the first, previous, next and last pages.
 */
export const DEFAULT_PER_PAGE = 50;

export const Uuid = Type.String({ format: 'uuid' });
/** The acting organization, in a body or a query string; null or absent: the token's own. */
export const Organization = Type.Optional(Type.Union([Uuid, Type.Null()]));

export function listQuery<F extends TProperties>(filters: F) {
  return Type.Object({
    page: Type.Optional(Type.Integer({ minimum: 1 })),
    per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
    organization: Organization,
    ...filters,
  });
}

export const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

export interface ScalewayListQuery {
  page?: number;
  per_page?: number;
  organization?: string | null;
  [filter: string]: unknown;
}

/** Core's list request for a Scaleway query; `filters` names the query parameters that are core filters. */
export function toListRequest(query: ScalewayListQuery, filters: readonly string[] = []): ListRequest {
  const picked: Record<string, string> = {};
  for (const name of filters) if (typeof query[name] === 'string') picked[name] = query[name] as string;
  return { filters: picked, pagination: { style: 'page', page: query.page ?? 1, pageSize: query.per_page ?? DEFAULT_PER_PAGE } };
}

/**
 * Runs a core list for a Scaleway query. A page past the end is an empty list (core refuses it),
 * still with the total.
 */
export async function listPage<T>(request: ListRequest, run: (request: ListRequest) => Promise<ListResult<T>>): Promise<{ items: T[]; count: number; page: number; pageSize: number }> {
  try {
    const result = await run(request);
    if (result.style !== 'page') throw new Error('Scaleway lists are paged');
    return result;
  } catch (error) {
    if (!(error instanceof NotFound) || error.resource !== 'page' || request.pagination.style !== 'page') throw error;
    const first = await run({ ...request, pagination: { ...request.pagination, page: 1 } });
    return { items: [], count: first.style === 'page' ? first.count : 0, page: request.pagination.page, pageSize: request.pagination.pageSize };
  }
}

/**
 * An absolute URL to `path` of this surface, as the request reached it: under its prefix on the
 * main listener, at the root of its own port.
 */
export function linkTo(request: FastifyRequest, path: string): string {
  return surfaceUrl(request.server, request, path);
}

/** Sets `X-Total-Count` and `Link` (the first, previous, next and last pages). */
export function paginate(request: FastifyRequest, reply: FastifyReply, page: { count: number; page: number; pageSize: number }): void {
  reply.header('x-total-count', String(page.count));
  const last = Math.max(1, Math.ceil(page.count / page.pageSize));
  const [path = '', search = ''] = request.url.split('?');
  const withinSurface = path.slice(request.server.prefix.length);
  const link = (number: number, rel: string) => {
    const params = new URLSearchParams(search);
    params.set('page', String(number));
    params.set('per_page', String(page.pageSize));
    return `<${linkTo(request, `${withinSurface}?${params}`)}>; rel="${rel}"`;
  };
  const links = [link(1, 'first')];
  if (page.page > 1) links.push(link(Math.min(page.page - 1, last), 'previous'));
  if (page.page < last) links.push(link(page.page + 1, 'next'));
  links.push(link(last, 'last'));
  reply.header('link', links.join(','));
}
