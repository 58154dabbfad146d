import { createQueryId, sql, type CompiledQuery, type Expression, type ExpressionBuilder, type Kysely, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Database } from '../store/schema.ts';
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
 * A filter on a column holding a JSON array of texts as `JSON.stringify` writes it: the rows whose
 * array holds every comma-separated value. Outside a string an element begins after `[` or `,`
 * (a quote inside a string is escaped), so finding `["x"` or `,"x"` means an element equals x.
 * `replace` is case-sensitive and has no wildcards on both databases, unlike LIKE.
 */
export function jsonTextsFilter(column: string): ListSpec['filters'][string] {
  const holds = (needle: string) => sql<SqlBool>`replace(${sql.ref(column)}, ${needle}, '') <> ${sql.ref(column)}`;
  return (query, value) =>
    value
      .split(',')
      .filter((text) => text !== '')
      .reduce((narrowed, text) => narrowed.where((eb: AnyExpressions) => eb.or([holds(`[${JSON.stringify(text)}`), holds(`,${JSON.stringify(text)}`)])), query);
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

/**
 * The values a list query binds besides its base's and its filters': they change with every
 * request of a shape. Without `limit` it is the query counting the rows.
 */
interface Bindings {
  search?: string;
  cursor?: unknown[];
  limit?: number;
  offset?: number;
}

/** The rows of one request (the base narrowed by filters and search, ordered, paged), or their count. */
function listQuery(base: AnyQuery, spec: ListSpec, request: ListRequest, terms: OrderTerm[], bindings: Bindings, backwards: boolean): AnyQuery {
  let query = base;
  for (const [name, value] of appliedFilters(spec, request)) query = spec.filters[name]!(query, value);
  if (bindings.search !== undefined) query = query.where((eb: AnyExpressions) => searchCondition(eb, spec.searchColumns, bindings.search!));
  if (bindings.limit === undefined) return query.clearSelect().select((eb: AnyExpressions) => eb.fn.countAll<number>().as('count'));
  if (bindings.cursor) query = query.where((eb: AnyExpressions) => keysetCondition(eb, terms, spec, bindings.cursor!, backwards));
  query = orderBy(query, terms, spec, backwards).limit(bindings.limit);
  return bindings.offset !== undefined ? query.offset(bindings.offset) : query;
}

// Own properties only: a query parameter named `toString` is not a filter.
const appliedFilters = (spec: ListSpec, request: ListRequest) => Object.entries(request.filters).filter(([name]) => Object.hasOwn(spec.filters, name));

/**
 * List queries compiled once per shape. A shape is the base's SQL, the filters with their
 * values (a filter may shape its SQL by its value), whether there is a search, the ordering,
 * the pagination style and direction, or counting; the base's parameters, the search pattern,
 * cursor values, limit and offset are bound on each request. The base's parameters come first
 * in the compiled query (everything here is appended after it), so they are bound by position.
 */
interface CompiledShape {
  sql: string;
  query: CompiledQuery['query'];
  /** The base's parameters are the first `baseLength`; then a fixed value, or a slot of `Bindings`. */
  baseLength: number;
  parameters: ({ fixed: unknown } | { slot: (bindings: Bindings) => unknown })[];
}

const SHAPES_PER_SPEC = 200;
/** By database (its adapter: SQL differs between dialects, not between a connection and its transactions), then by spec. */
const compiledShapes = new WeakMap<object, WeakMap<ListSpec, Map<string, CompiledShape>>>();

function shapesOf(db: Kysely<Database>, spec: ListSpec): Map<string, CompiledShape> {
  const { adapter } = db.getExecutor();
  let bySpec = compiledShapes.get(adapter);
  if (!bySpec) compiledShapes.set(adapter, (bySpec = new WeakMap()));
  let shapes = bySpec.get(spec);
  if (!shapes) bySpec.set(spec, (shapes = new Map()));
  return shapes;
}

/** Stand-ins for the per-request values while a shape compiles; found again among its parameters. */
class Slot {
  constructor(readonly read: (bindings: Bindings) => unknown) {}
}

function compileShape(db: Kysely<Database>, base: AnyQuery, baseLength: number, spec: ListSpec, request: ListRequest, terms: OrderTerm[], bindings: Bindings, backwards: boolean): CompiledShape {
  const slot = <K extends keyof Bindings>(key: K, read: (bindings: Bindings) => unknown) => (bindings[key] === undefined ? undefined : (new Slot(read) as never as Bindings[K]));
  const slots: Bindings = {
    search: slot('search', (b) => searchPattern(b.search!)),
    cursor: bindings.cursor?.map((_, i) => new Slot((b) => b.cursor![i])),
    limit: slot('limit', (b) => b.limit),
    offset: slot('offset', (b) => b.offset),
  };
  const compiled = db.getExecutor().compileQuery(listQuery(base, spec, request, terms, slots, backwards).toOperationNode(), createQueryId());
  return {
    sql: compiled.sql,
    query: compiled.query,
    baseLength,
    parameters: compiled.parameters.map((value) => (value instanceof Slot ? { slot: value.read } : { fixed: value })),
  };
}

/** Runs `listQuery` from its compiled shape (compiling it the first time). */
async function runCompiled(db: Kysely<Database>, base: AnyQuery, baseCompiled: CompiledQuery, spec: ListSpec, request: ListRequest, terms: OrderTerm[], bindings: Bindings, backwards: boolean): Promise<unknown[]> {
  const filters = appliedFilters(spec, request).map(([name, value]) => `${name}=${value}`).join('\u0000');
  const ordering = terms.map((t) => (t.descending ? '-' : '') + t.name).join(',');
  const pagination = bindings.limit === undefined ? 'count' : bindings.offset !== undefined ? 'page' : bindings.cursor ? (backwards ? 'previous' : 'next') : 'first';
  const key = [baseCompiled.sql, filters, bindings.search !== undefined, ordering, pagination].join('\u0001');
  const shapes = shapesOf(db, spec);
  let shape = shapes.get(key);
  if (!shape) {
    shape = compileShape(db, base, baseCompiled.parameters.length, spec, request, terms, bindings, backwards);
    if (shapes.size >= SHAPES_PER_SPEC) shapes.delete(shapes.keys().next().value!);
    shapes.set(key, shape);
  }
  const parameters = shape.parameters.map((p, i) => (i < shape.baseLength ? baseCompiled.parameters[i] : 'slot' in p ? p.slot(bindings) : p.fixed));
  const { rows } = await db.executeQuery<unknown>({ sql: shape.sql, parameters, query: shape.query, queryId: createQueryId() });
  return rows;
}

/**
 * Runs a list request on `base` (a query a service has already scoped to the actor's tenancy),
 * on `db`, the connection `base` belongs to. `compiled: false` builds every query for this
 * request alone, as the first request of each shape does.
 */
export async function runList<Row extends Record<string, unknown>>(
  db: Kysely<Database>,
  base: AnyQuery,
  spec: ListSpec,
  request: ListRequest,
  { compiled = true }: { compiled?: boolean } = {},
): Promise<ListResult<Row>> {
  const terms = parseOrdering(request.ordering ?? spec.defaultOrdering, spec);
  const { pagination } = request;
  const cursor = pagination.style === 'cursor' && pagination.cursor ? decodeCursor(pagination.cursor, terms) : null;
  const backwards = cursor?.direction === 'previous';
  const search = request.search || undefined;
  // The base is compiled once for the rows and their count: its SQL is the shapes' key, its parameters their first.
  const baseCompiled = compiled ? base.compile() : undefined;
  const run = async (bindings: Bindings) =>
    (baseCompiled ? await runCompiled(db, base, baseCompiled, spec, request, terms, bindings, backwards) : await listQuery(base, spec, request, terms, bindings, backwards).execute()) as Row[];

  if (pagination.style === 'page') {
    const offset = (pagination.page - 1) * pagination.pageSize;
    // Far past any real list, and past what a database's OFFSET takes.
    if (!Number.isSafeInteger(offset)) throw new NotFound('page', 'Invalid page.');
    const items = await run({ search, limit: pagination.pageSize, offset });
    // An empty page past the first is past the last; an empty first page is an empty list.
    if (items.length === 0 && pagination.page > 1) throw new NotFound('page', 'Invalid page.');
    // A page that is not full is the last one: it tells the total by itself.
    const count = items.length < pagination.pageSize ? offset + items.length : Number((await run({ search }))[0]!.count);
    const lastPage = Math.max(1, Math.ceil(count / pagination.pageSize));
    return { style: 'page', items, count, page: pagination.page, pageSize: pagination.pageSize, lastPage };
  }

  const rows = await run({ search, cursor: cursor?.values, limit: pagination.pageSize + 1 });
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

// Escaping LIKE's wildcards makes `search` a plain substring match on both databases.
const searchPattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** `text` is the search, or while a shape compiles the slot standing for its pattern. */
function searchCondition(eb: AnyExpressions, columns: string[], text: string | Slot): Expression<SqlBool> {
  const pattern = text instanceof Slot ? text : searchPattern(text);
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
