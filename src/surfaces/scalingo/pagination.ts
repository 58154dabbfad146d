import { ValidationFailed, type FieldErrors } from '../../core/errors.ts';
import { MAX_PAGE_SIZE, type ListRequest, type ListResult } from '../../core/listing.ts';

/** Scalingo's page size when `per_page` is not given. */
const DEFAULT_PER_PAGE = 30;

function positive(errors: FieldErrors, field: string, value: unknown, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < 1 || n > max) {
    errors[field] = [max === Number.MAX_SAFE_INTEGER ? 'must be a positive integer' : `must be an integer from 1 to ${max}`];
    return undefined;
  }
  return n;
}

/** `?page=&per_page=` as a core list request (page style); a bad value is a 422 on its name. */
export function pageRequest(query: Record<string, unknown>, filters: Record<string, string> = {}): ListRequest {
  const errors: FieldErrors = {};
  const page = positive(errors, 'page', query.page, Number.MAX_SAFE_INTEGER) ?? 1;
  const pageSize = positive(errors, 'per_page', query.per_page, MAX_PAGE_SIZE) ?? DEFAULT_PER_PAGE;
  if (Object.keys(errors).length) throw new ValidationFailed(errors);
  return { filters, pagination: { style: 'page', page, pageSize } };
}

/** `{"<key>": [...], "meta": {"pagination": {...}}}`, prev and next null at the ends. */
export function paginated<Row, Out>(key: string, result: ListResult<Row>, items: Out[]) {
  if (result.style !== 'page') throw new Error('Scalingo lists are paged by number');
  const { page, lastPage, count } = result;
  return {
    [key]: items,
    meta: {
      pagination: {
        prev_page: page > 1 ? page - 1 : null,
        current_page: page,
        next_page: page < lastPage ? page + 1 : null,
        total_pages: lastPage,
        total_count: count,
      },
    },
  };
}
