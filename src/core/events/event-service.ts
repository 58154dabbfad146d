import { setMaxListeners } from 'node:events';
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Store } from '../../store/database.ts';
import { nextWakeUp, type Notifier } from '../../store/notifier.ts';
import type { Database, EventRow, EventsTable } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { nowIso, parseTimestamp } from '../clock.ts';
import { ValidationFailed } from '../errors.ts';
import { runList, whereResource, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { endsAccess, type LongRequest, type LongRequests } from '../long-requests.ts';
import { createEventSequencer } from './sequencer.ts';

/** A change to record, in the transaction that makes it. */
export interface NewEvent {
  /** `<resource>.<verb>`, e.g. `organization.created`, `task.succeeded`. */
  type: string;
  organizationId: string;
  organizationPath: string;
  /** The user who caused it; null for the system. */
  actor: string | null;
  resource?: { type: string; id: string };
  data?: unknown;
  requestId?: string | null;
}

export interface Event {
  id: number;
  type: string;
  organizationId: string;
  actor: string | null;
  resourceType: string | null;
  resourceId: string | null;
  data: unknown;
  requestId: string | null;
  createdAt: string;
}

/** Narrows a list or a stream: exact type or `prefix.*`, and a resource `id` or `type:id`. */
export interface EventFilters {
  type?: string;
  resource?: string;
}

export interface FollowOptions {
  after: number | null;
  filters: EventFilters;
  signal: AbortSignal;
  /** After this long without an event, an empty batch is yielded (a keep-alive). */
  idleMs: number;
}

const STREAM_BATCH = 500;
/** Followers look again this often even without a wake-up (a lost notification costs this much). */
const FOLLOW_POLL_MS = 1_000;

const TYPE_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/;

export function toEvent(row: EventRow): Event {
  return {
    id: Number(row.id),
    type: row.type,
    organizationId: row.organization_id,
    actor: row.actor,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    data: JSON.parse(row.data),
    requestId: row.request_id,
    createdAt: row.created_at,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyQuery = any;

function checkFilters(filters: EventFilters): void {
  if (filters.type !== undefined && !TYPE_PATTERN.test(filters.type)) {
    throw ValidationFailed.field('type', 'Enter an event type such as "task.succeeded", or a prefix such as "task.*".');
  }
}

function applyFilters(query: AnyQuery, filters: EventFilters): AnyQuery {
  checkFilters(filters);
  let narrowed = query;
  if (filters.type !== undefined) {
    narrowed = filters.type.endsWith('.*')
      ? narrowed.where('type', 'like', `${filters.type.slice(0, -1)}%`)
      : narrowed.where('type', '=', filters.type);
  }
  if (filters.resource !== undefined) narrowed = whereResource(narrowed, filters.resource);
  return narrowed;
}

const listSpec: ListSpec = {
  filters: {
    type: (query, value) => applyFilters(query, { type: value }),
    resource: (query, value) => applyFilters(query, { resource: value }),
    resource_type: (query, value) => query.where('resource_type', '=', value),
    // One event by its id (a resource's event, shown alone); anything but a number matches none.
    id: (query, value) => query.where('id', '=', /^\d{1,15}$/.test(value) ? Number(value) : -1),
    // Scalingo's `from` (the last hours): events recorded after this time.
    created_after: (query, value) => {
      const after = parseTimestamp(value);
      if (!after) throw ValidationFailed.field('created_after', 'Enter a valid date and time.');
      return query.where('created_at', '>', after);
    },
  },
  searchColumns: [],
  orderings: { id: 'id' },
  defaultOrdering: '-id',
  idColumn: 'id',
};

let lastKeyMs = 0;
let keyCounter = 0;

/**
 * Time-ordered and strictly increasing within this process: events of one transaction keep their
 * order. A key with a suffix appended still sorts after this one and before the next, so one
 * key can number a statement's events (see `worker.ts`'s claims).
 */
export function newEventKey(): string {
  const now = Date.now();
  if (now > lastKeyMs) {
    lastKeyMs = now;
    keyCounter = 0;
  }
  keyCounter += 1;
  return `${lastKeyMs.toString(36).padStart(9, '0')}.${keyCounter.toString(36).padStart(5, '0')}.${crypto.randomUUID().slice(0, 8)}`;
}

/** The rows recording `events`, for a caller that writes them with its own statement (then notifies 'events'). */
export function eventRows(events: NewEvent[]): Insertable<EventsTable>[] {
  const now = nowIso();
  return events.map((event) => ({
    key: newEventKey(),
    id: null,
    type: event.type,
    organization_id: event.organizationId,
    organization_path: event.organizationPath,
    actor: event.actor,
    resource_type: event.resource?.type ?? null,
    resource_id: event.resource?.id ?? null,
    data: JSON.stringify(event.data ?? {}),
    request_id: event.requestId ?? null,
    created_at: now,
  }));
}

export type EventService = ReturnType<typeof createEventService>;

/**
 * The append-only record of every change. Services call `record` inside the transaction of the
 * change, so an event exists exactly when its change does. Readers see an organization's
 * subtree: events are stored with the organization's path.
 */
export function createEventService({ store, notifier, longRequests }: { store: Store; notifier: Notifier; longRequests: LongRequests }) {
  const sequencer = createEventSequencer(store);
  const closing = new AbortController();
  // Every stream in flight listens for the shutdown: hundreds at once are normal, not a leak.
  setMaxListeners(0, closing.signal);

  async function record(trx: Transaction<Database> | Kysely<Database>, events: NewEvent | NewEvent[]): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    if (list.length === 0) return;
    await trx.insertInto('events').values(eventRows(list)).execute();
    await notifier.notify(trx, 'events');
  }

  const visible = (actor: Actor) =>
    store.db.selectFrom('events').selectAll().where('id', 'is not', null).where('organization_path', 'like', `${actor.organizationPath}%`);

  async function list(actor: Actor, request: ListRequest, options: { resourceIds?: readonly string[] } = {}): Promise<ListResult<Event>> {
    assertAllowed(actor, 'event:read');
    await sequencer.catchUp();
    const query = options.resourceIds ? visible(actor).where('resource_id', 'in', options.resourceIds) : visible(actor);
    const result = await runList<EventRow>(store.db, query, listSpec, request);
    return { ...result, items: result.items.map(toEvent) } as ListResult<Event>;
  }

  /**
   * The live stream: batches of events after `after` (an event id; null starts from now), in
   * order, for as long as `signal` is not aborted. An empty batch means "nothing new for a while" (a keep-alive).
   * Each follower reads the table from its own position, so a reconnect with the last id it
   * received resumes with neither gap nor duplicate. The stream holds a long-request slot until
   * `signal` aborts or it ends, and ends once its caller may no longer read events.
   */
  async function follow(actor: Actor, options: FollowOptions): Promise<AsyncGenerator<Event[]>> {
    checkFilters(options.filters);
    const request = longRequests.open(actor, 'event:read');
    options.signal.addEventListener('abort', request.release, { once: true });
    try {
      // Fixed before the caller tells its client the stream is open: nothing after that is missed.
      return followFrom(request, options, options.after ?? (await latestId()));
    } catch (error) {
      request.release();
      throw error;
    }
  }

  async function* followFrom(request: LongRequest, options: FollowOptions, start: number): AsyncGenerator<Event[]> {
    const signal = AbortSignal.any([options.signal, closing.signal]);
    let position = start;
    let idleSince = Date.now();
    try {
      while (!signal.aborted) {
        const wake = nextWakeUp(notifier, ['events'], FOLLOW_POLL_MS, signal);
        const actor = await request.actor();
        await sequencer.catchUp();
        const rows: EventRow[] = await applyFilters(visible(actor), options.filters).where('id', '>', position).orderBy('id').limit(STREAM_BATCH).execute();
        if (rows.length > 0) {
          position = Number(rows.at(-1)!.id);
          idleSince = Date.now();
          yield rows.map(toEvent);
          if (rows.length === STREAM_BATCH) continue;
        } else if (Date.now() - idleSince >= options.idleMs) {
          idleSince = Date.now();
          yield [];
        }
        await wake;
      }
    } catch (error) {
      if (!endsAccess(error)) throw error;
    } finally {
      request.release();
    }
  }

  async function latestId(): Promise<number> {
    await sequencer.catchUp();
    const row = await store.db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  /** Ends every stream (shutdown). */
  function close(): void {
    closing.abort();
  }

  return { record, list, follow, close };
}
