import type { FastifyReply } from 'fastify';
import { ValidationFailed } from '../../core/errors.ts';
import { MAX_PAGE_SIZE, type ListRequest, type ListResult } from '../../core/listing.ts';

/** will_paginate's page size when `per_page` is not given. */
export const DEFAULT_PER_PAGE = 30;

function positiveInteger(query: Record<string, unknown>, name: string): number | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value) || Number(value) < 1) throw new ValidationFailed({}, [`${name} must be a positive integer`]);
  return Number(value);
}

/** `?page=&per_page=` as a core list request; `per_page` above the most core serves is served at that most. */
export function pageRequest(query: Record<string, unknown>, filters: Record<string, string> = {}, ordering?: string): ListRequest {
  const page = positiveInteger(query, 'page') ?? 1;
  const pageSize = Math.min(positiveInteger(query, 'per_page') ?? DEFAULT_PER_PAGE, MAX_PAGE_SIZE);
  return { filters, ...(ordering ? { ordering } : {}), pagination: { style: 'page', page, pageSize } };
}

/** api-pagination's headers: the page size served and the total count. */
export function paginationHeaders<Row>(reply: FastifyReply, result: ListResult<Row>): void {
  if (result.style !== 'page') throw new Error('ComputeStacks lists are paged by number');
  reply.header('per-page', String(result.pageSize)).header('total', String(result.count));
}
