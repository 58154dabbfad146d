import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Actor } from './actor.ts';
import { isUuid } from './clock.ts';
import { NotFound, ValidationFailed } from './errors.ts';

/**
 * Shared list machinery: filters, search, ordering and both pagination styles, applied to
 * a query a service has already scoped to the actor's tenancy. Every collection declares a
 * `ListSpec`; surfaces parse their query strings into a `ListRequest` and render the result.
 */
// Kysely's builder types are generic over the whole query; the machinery works on any table.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyQuery = SelectQueryBuilder<any, any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyExpressions = ExpressionBuilder<any, any>;

export interface ListSpec {
  /** Filter parameter -> how it narrows the query (it validates its own value). */
  filters: Record<string, (query: AnyQuery, value: string) => AnyQuery>;
  /** Columns `search` matches, case-insensitively, as substrings. */
  searchColumns: string[];
  /** Ordering name -> column. Columns must be NOT NULL (keyset cursors compare them). */
  orderings: Record<string, string>;
  /** e.g. `-created_at`. The id column is always the final tie-breaker. */
  defaultOrdering: string;
  idColumn: string;
}

/** A filter on a UUID column; any other value is a 400 on the filter's own name. */
export function uuidFilter(column: string, field: string): ListSpec['filters'][string] {
  return (query, value) => {
    if (!isUuid(value)) throw ValidationFailed.field(field, `"${value}" is not a valid UUID.`);
    return query.where(column, '=', value);
  };
}

/**
 * A filter on a column holding one of fixed `choices`; any other value is a 400 on the filter's
 * own name. With `multiple`, the value may list several choices separated by commas (any of them).
 */
export function choiceFilter(column: string, field: string, choices: readonly string[], { multiple = false }: { multiple?: boolean } = {}): ListSpec['filters'][string] {
  return (query, value) => {
    const values = multiple ? value.split(',') : [value];
    const unknown = values.find((v) => !choices.includes(v));
    if (unknown !== undefined) throw ValidationFailed.field(field, `"${unknown}" is not a valid choice. Choose from: ${choices.join(', ')}.`);
    return multiple ? query.where(column, 'in', values) : query.where(column, '=', value);
  };
}

/**
 * A resource named as `type:id`, or as just `id` (any type), as conditions on the query's
 * `resource_type` and `resource_id` columns.
 */
export function whereResource(query: AnyQuery, value: string): AnyQuery {
  const colon = value.indexOf(':');
  return colon < 0 ? query.where('resource_id', '=', value) : query.where('resource_type', '=', value.slice(0, colon)).where('resource_id', '=', value.slice(colon + 1));
}

export type Pagination = { style: 'page'; page: number; pageSize: number } | { style: 'cursor'; cursor: string | null; pageSize: number };

export interface ListRequest {
  filters: Record<string, string>;
  search?: string;
  ordering?: string;
  pagination: Pagination;
}

export type ListResult<Row> =
  | { style: 'page'; items: Row[]; count: number; page: number; pageSize: number; lastPage: number }
  | { style: 'cursor'; items: Row[]; next: string | null; previous: string | null };

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 15;

interface OrderTerm {
  name: string;
  column: string;
  descending: boolean;
}

export async function runList<Row extends Record<string, unknown>>(base: AnyQuery, spec: ListSpec, request: ListRequest): Promise<ListResult<Row>> {
  let query = base;
  for (const [name, value] of Object.entries(request.filters)) {
    // Own properties only: a query parameter named `toString` is not a filter.
    if (Object.hasOwn(spec.filters, name)) query = spec.filters[name]!(query, value);
  }
  if (request.search) query = query.where((eb: AnyExpressions) => searchCondition(eb, spec.searchColumns, request.search!));
  const terms = parseOrdering(request.ordering ?? spec.defaultOrdering, spec);
  const { pagination } = request;

  if (pagination.style === 'page') {
    const offset = (pagination.page - 1) * pagination.pageSize;
    // Far past any real list, and past what a database's OFFSET takes.
    if (!Number.isSafeInteger(offset)) throw new NotFound('page', 'Invalid page.');
    const items = (await orderBy(query, terms, spec, false).limit(pagination.pageSize).offset(offset).execute()) as Row[];
    // A page that is neither empty nor full is the last one: it tells the total by itself.
    const partial = items.length > 0 && items.length < pagination.pageSize;
    const count = partial ? offset + items.length : await countRows(query);
    const lastPage = Math.max(1, Math.ceil(count / pagination.pageSize));
    if (pagination.page > lastPage) throw new NotFound('page', 'Invalid page.');
    return { style: 'page', items, count, page: pagination.page, pageSize: pagination.pageSize, lastPage };
  }

  const cursor = pagination.cursor ? decodeCursor(pagination.cursor, terms) : null;
  const backwards = cursor?.direction === 'previous';
  if (cursor) query = query.where((eb: AnyExpressions) => keysetCondition(eb, terms, spec, cursor.values, backwards));
  const rows = (await orderBy(query, terms, spec, backwards).limit(pagination.pageSize + 1).execute()) as Row[];
  const hasMore = rows.length > pagination.pageSize;
  const items = rows.slice(0, pagination.pageSize);
  if (backwards) items.reverse();
  const keyOf = (row: Row) => [...terms.map((t) => row[t.column]), row[spec.idColumn]];
  const first = items[0];
  const last = items.at(-1);
  const hasNext = backwards ? true : hasMore;
  const hasPrevious = backwards ? hasMore : cursor !== null;
  return {
    style: 'cursor',
    items,
    next: hasNext && last ? encodeCursor('next', terms, keyOf(last)) : null,
    previous: hasPrevious && first ? encodeCursor('previous', terms, keyOf(first)) : null,
  };
}

async function countRows(query: AnyQuery): Promise<number> {
  const { count } = (await query.clearSelect().select((eb: AnyExpressions) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow()) as { count: number };
  return Number(count);
}

function parseOrdering(ordering: string, spec: ListSpec): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const raw of ordering.split(',').map((s) => s.trim()).filter(Boolean)) {
    const descending = raw.startsWith('-');
    const name = descending ? raw.slice(1) : raw;
    const column = Object.hasOwn(spec.orderings, name) ? spec.orderings[name] : undefined;
    if (!column) {
      throw ValidationFailed.field('ordering', `Cannot order by "${name}". Choose from: ${Object.keys(spec.orderings).join(', ')}.`);
    }
    if (!terms.some((t) => t.name === name)) terms.push({ name, column, descending });
  }
  return terms;
}

function orderBy(query: AnyQuery, terms: OrderTerm[], spec: ListSpec, reverse: boolean): AnyQuery {
  let ordered = query;
  for (const t of terms) ordered = ordered.orderBy(t.column, t.descending !== reverse ? 'desc' : 'asc');
  return ordered.orderBy(spec.idColumn, reverse ? 'desc' : 'asc');
}

function searchCondition(eb: AnyExpressions, columns: string[], text: string): Expression<SqlBool> {
  // Escaping LIKE's wildcards makes `search` a plain substring match on both databases.
  const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return eb.or(columns.map((column) => sql<SqlBool>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`));
}

/** Rows strictly after (or, going backwards, before) the cursor position in the list order. */
function keysetCondition(eb: AnyExpressions, terms: OrderTerm[], spec: ListSpec, values: unknown[], backwards: boolean): Expression<SqlBool> {
  const columns = [...terms.map((t) => ({ column: t.column, descending: t.descending })), { column: spec.idColumn, descending: false }];
  const alternatives = columns.map((current, i) => {
    const equalities = columns.slice(0, i).map((c, j) => eb(c.column, '=', values[j]));
    const after = current.descending !== backwards ? '<' : '>';
    return eb.and([...equalities, eb(current.column, after, values[i])]);
  });
  return eb.or(alternatives);
}

interface Cursor {
  direction: 'next' | 'previous';
  values: unknown[];
}

function encodeCursor(direction: Cursor['direction'], terms: OrderTerm[], values: unknown[]): string {
  const ordering = terms.map((t) => (t.descending ? '-' : '') + t.name).join(',');
  return Buffer.from(JSON.stringify({ d: direction === 'next' ? 'n' : 'p', o: ordering, v: values })).toString('base64url');
}

function decodeCursor(cursor: string, terms: OrderTerm[]): Cursor {
  const invalid = ValidationFailed.field('cursor', 'Invalid cursor.');
  let decoded: { d?: unknown; o?: unknown; v?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  const ordering = terms.map((t) => (t.descending ? '-' : '') + t.name).join(',');
  // A cursor is only meaningful for the ordering it was made with.
  if (
    typeof decoded !== 'object' || decoded === null || (decoded.d !== 'n' && decoded.d !== 'p') || decoded.o !== ordering ||
    !Array.isArray(decoded.v) || decoded.v.length !== terms.length + 1 ||
    !decoded.v.every((v) => typeof v === 'string' || typeof v === 'number')
  ) {
    throw invalid;
  }
  return { direction: decoded.d === 'n' ? 'next' : 'previous', values: decoded.v };
}

/** Every page of a core list, in its default order: for surfaces whose lists are whole (CloudMC's, Scalingo's tokens). */
export async function everything<Row>(run: (actor: Actor, request: ListRequest) => Promise<ListResult<Row>>, actor: Actor, filters: Record<string, string> = {}): Promise<Row[]> {
  const rows: Row[] = [];
  for (let page = 1; ; page++) {
    const result = await run(actor, { filters, pagination: { style: 'page', page, pageSize: MAX_PAGE_SIZE } });
    rows.push(...result.items);
    if (result.style !== 'page' || page >= result.lastPage) return rows;
  }
}
