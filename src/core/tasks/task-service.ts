import { setMaxListeners } from 'node:events';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Store } from '../../store/database.ts';
import { jsonRows } from '../../store/json-rows.ts';
import { preparedStatement } from '../../store/prepared-statements.ts';
import { nextWakeUp, type Notifier } from '../../store/notifier.ts';
import type { Database, TaskRow, TaskStatus } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { InvalidState, NotFound, ValidationFailed } from '../errors.ts';
import { eventRows, type EventService } from '../events/event-service.ts';
import { choiceFilter, runList, whereResource, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { LongRequests } from '../long-requests.ts';
import type { SecretBox } from '../secrets/secret-box.ts';
import type { ResourceRef, TaskHandlerRegistry } from './handlers.ts';
import { groupCommit } from './group-commit.ts';
import { revealSecrets } from './task-secrets.ts';

export const TASK_STATUSES: TaskStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelling', 'cancelled'];
export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export interface TaskError {
  code: string;
  message: string;
  context?: Record<string, unknown>;
}

export interface Task {
  id: string;
  type: string;
  status: TaskStatus;
  progress: number;
  progressMessage: string;
  resources: ResourceRef[];
  input: Record<string, unknown>;
  result: unknown;
  error: TaskError | null;
  mayCancel: boolean;
  attempts: number;
  maxAttempts: number;
  requestedBy: string | null;
  organizationId: string;
  requestId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface NewTask {
  type: string;
  input?: Record<string, unknown>;
  resources?: ResourceRef[];
  mayCancel?: boolean;
  maxAttempts?: number;
  /** When it may run (ISO time); now by default. */
  runAfter?: string;
}

const DEFAULT_MAX_ATTEMPTS = 5;
/** The most API-created tasks written by one transaction (24 columns each: within any driver's parameter limit). */
const CREATE_BATCH = 200;
const MAX_INPUT_BYTES = 16 * 1024;
/** Long polls look again this often even without a wake-up. */
const WAIT_POLL_MS = 1_000;
export const MAX_WAIT_SECONDS = 300;

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    progress: row.progress,
    progressMessage: row.progress_message,
    resources: JSON.parse(row.resources),
    input: JSON.parse(row.input),
    result: row.result === null ? null : JSON.parse(row.result),
    error: row.error === null ? null : JSON.parse(row.error),
    mayCancel: row.may_cancel === 1,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    requestedBy: row.requested_by,
    organizationId: row.organization_id,
    requestId: row.request_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** The event recording a task's change of state, in the transaction that changes it. */
export function taskEvent(row: Pick<TaskRow, 'id' | 'type' | 'organization_id' | 'organization_path' | 'requested_by' | 'request_id'>, status: string, data: Record<string, unknown> = {}) {
  return {
    type: `task.${status}`,
    organizationId: row.organization_id,
    organizationPath: row.organization_path,
    actor: row.requested_by,
    resource: { type: 'task', id: row.id },
    data: { task_type: row.type, ...data },
    requestId: row.request_id,
  };
}

const listSpec: ListSpec = {
  filters: {
    status: choiceFilter('status', 'status', TASK_STATUSES, { multiple: true }),
    type: (query, value) => query.where('type', '=', value),
    resource: (query, value) => query.where('id', 'in', (eb: Kysely<Database>) => whereResource(eb.selectFrom('task_resources').select('task_id'), value)),
  },
  searchColumns: ['type'],
  orderings: { created_at: 'created_at', type: 'type', status: 'status' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

export type TaskService = ReturnType<typeof createTaskService>;

/**
 * Tasks: every operation that takes time. A service enqueues one in the transaction of the
 * change that asks for it, so the task exists exactly when the change does; the worker runs it.
 */
export function createTaskService({
  store,
  events,
  notifier,
  handlers,
  longRequests,
  secrets,
}: {
  store: Store;
  events: EventService;
  notifier: Notifier;
  handlers: TaskHandlerRegistry;
  longRequests: LongRequests;
  secrets: SecretBox;
}) {
  const { db } = store;
  const closing = new AbortController();
  // Every long poll in flight listens for the shutdown: hundreds at once are normal, not a leak.
  setMaxListeners(0, closing.signal);

  /** A task as its readers see it (its result's secrets opened). */
  const readable = (row: TaskRow): Task => {
    const task = toTask(row);
    return { ...task, result: revealSecrets(secrets, task.id, task.result) };
  };

  const visible = (actor: Actor) => db.selectFrom('tasks').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string): Promise<TaskRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('task', 'No task matches the given query.');
    return row;
  }

  /** The row of a new task `actor` asks for. */
  function newTaskRow(actor: Actor, task: NewTask, now: string): TaskRow {
    const handler = handlers.get(task.type);
    if (!handler) throw new Error(`no handler is registered for task type "${task.type}"`);
    const input = task.input ?? {};
    const resources = uniqueResources(task.resources ?? handler.resourcesOf?.(input) ?? []);
    return {
      id: newId(),
      type: task.type,
      status: 'pending',
      progress: 0,
      progress_message: '',
      input: JSON.stringify(input),
      resources: JSON.stringify(resources),
      result: null,
      error: null,
      checkpoint: '{}',
      may_cancel: (task.mayCancel ?? handler.mayCancel ?? false) ? 1 : 0,
      attempts: 0,
      max_attempts: task.maxAttempts ?? handler.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      requested_by: actor.principal.userId,
      organization_id: actor.organizationId,
      organization_path: actor.organizationPath,
      request_id: actor.requestId,
      run_after: task.runAfter ?? now,
      locked_by: null,
      locked_until: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      updated_at: now,
    };
  }

  /**
   * Enqueues tasks inside the caller's transaction, each on behalf of its actor. PostgreSQL writes
   * them, their resources and their events with one statement (atomic by itself); SQLite with one
   * statement per table.
   */
  async function enqueueAll(trx: Transaction<Database> | Kysely<Database>, requests: { actor: Actor; task: NewTask }[]): Promise<Task[]> {
    const now = nowIso();
    const rows = requests.map(({ actor, task }) => newTaskRow(actor, task, now));
    const resources = rows.flatMap((row) => (JSON.parse(row.resources) as ResourceRef[]).map((r) => ({ task_id: row.id, resource_type: r.type, resource_id: r.id })));
    const created = rows.map((row) => taskEvent(row, 'created'));
    if (store.dialect === 'postgres') {
      await sql`with new_tasks as (insert into tasks ${jsonRows('tasks', rows)}),
        new_resources as (insert into task_resources ${jsonRows('task_resources', resources)})
        insert into events ${jsonRows('events', eventRows(created))}${preparedStatement}`.execute(trx);
      await notifier.notify(trx, 'events');
    } else {
      await trx.insertInto('tasks').values(rows).execute();
      if (resources.length) await trx.insertInto('task_resources').values(resources).execute();
      await events.record(trx, created);
    }
    await notifier.notify(trx, 'tasks');
    return rows.map(toTask);
  }

  /** Enqueues a task inside the caller's transaction, on behalf of `actor`. */
  async function enqueue(trx: Transaction<Database> | Kysely<Database>, actor: Actor, task: NewTask): Promise<Task> {
    return (await enqueueAll(trx, [{ actor, task }]))[0]!;
  }

  /**
   * Tasks asked for through the API at about the same time are created together: in one
   * transaction, or on PostgreSQL by enqueueAll's one statement (no transaction around it to
   * begin and commit).
   */
  const enqueueTogether = groupCommit(
    (requests: { actor: Actor; task: NewTask }[]) => (store.dialect === 'postgres' ? enqueueAll(db, requests) : db.transaction().execute((trx) => enqueueAll(trx, requests))),
    CREATE_BATCH,
  );

  /** A task a user asks for directly through the API: only the user-creatable types. */
  async function create(actor: Actor, request: { type: string; input?: Record<string, unknown> }): Promise<Task> {
    assertAllowed(actor, 'task:write');
    const handler = handlers.get(request.type);
    if (!handler?.userCreatable) throw ValidationFailed.field('type', `"${request.type}" is not a valid choice. Choose from: ${handlers.userCreatableTypes().join(', ')}.`);
    const input = request.input ?? {};
    if (JSON.stringify(input).length > MAX_INPUT_BYTES) throw ValidationFailed.field('input', `Ensure the input is no larger than ${MAX_INPUT_BYTES} bytes.`);
    const errors = handler.validateInput?.(input) ?? {};
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return enqueueTogether({ actor, task: { type: request.type, input } });
  }

  async function get(actor: Actor, id: string): Promise<Task> {
    assertAllowed(actor, 'task:read');
    return readable(await findVisible(actor, id));
  }

  /**
   * A task that `belongs` to something its own service has already let the caller reach (an
   * app's tasks are read by its collaborators, whatever organization made them); any other is
   * not found.
   */
  async function readIf(id: string, belongs: (task: Task) => boolean): Promise<Task> {
    const row = isUuid(id) ? await db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row || !belongs(toTask(row))) throw new NotFound('task', 'No task matches the given query.');
    return readable(row);
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Task>> {
    assertAllowed(actor, 'task:read');
    const result = await runList<TaskRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(readable) } as ListResult<Task>;
  }

  /**
   * Long poll: the task once it has finished, or as it is when `timeoutSeconds` pass. It holds a
   * long-request slot meanwhile, and fails as any request would once its caller may no longer read tasks.
   */
  async function wait(actor: Actor, id: string, timeoutSeconds: number): Promise<Task> {
    const request = longRequests.open(actor, 'task:read');
    try {
      const deadline = Date.now() + Math.min(Math.max(timeoutSeconds, 0), MAX_WAIT_SECONDS) * 1000;
      for (;;) {
        const remaining = deadline - Date.now();
        const wake = nextWakeUp(notifier, ['tasks'], Math.min(remaining, WAIT_POLL_MS), closing.signal);
        const task = readable(await findVisible(await request.actor(), id));
        if (FINAL_STATUSES.has(task.status) || remaining <= 0 || closing.signal.aborted) return task;
        await wake;
      }
    } finally {
      request.release();
    }
  }

  /**
   * A pending task is cancelled at once; a running one that may be cancelled becomes
   * `cancelling` and its handler is told (it ends as `cancelled`); anything else is refused.
   */
  async function cancel(actor: Actor, id: string): Promise<Task> {
    assertAllowed(actor, 'task:write');
    const current = await findVisible(actor, id);
    if (current.status === 'cancelling') return readable(current);
    if (current.status === 'pending') {
      const now = nowIso();
      const changed = await db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('tasks')
          .set({ status: 'cancelled', finished_at: now, updated_at: now, error: JSON.stringify({ code: 'cancelled', message: 'The task was cancelled.' }) })
          .where('id', '=', current.id)
          .where('status', '=', 'pending')
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await trx.deleteFrom('resource_locks').where('task_id', '=', current.id).execute();
        await events.record(trx, taskEvent(current, 'cancelled'));
        await notifier.notify(trx, 'tasks');
        return true;
      });
      return changed ? get(actor, id) : cancel(actor, id);
    }
    if (current.status === 'running' && current.may_cancel === 1) {
      const changed = await db.transaction().execute(async (trx) => {
        const result = await trx.updateTable('tasks').set({ status: 'cancelling', updated_at: nowIso() }).where('id', '=', current.id).where('status', '=', 'running').executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) return false;
        await events.record(trx, taskEvent(current, 'cancelling'));
        await notifier.notify(trx, 'task_cancel');
        return true;
      });
      return changed ? get(actor, id) : cancel(actor, id);
    }
    const expected = current.status === 'running' ? ['pending'] : ['pending', 'running'];
    const why = current.status === 'running' ? 'This task cannot be cancelled while it runs.' : `This task has already ${current.status}.`;
    throw new InvalidState(current.status, expected, why);
  }

  /**
   * Cancels, inside the caller's transaction, the pending tasks of `type` on `resource` that no
   * longer have anything to do (a recovered server's expiry).
   */
  async function cancelPending(trx: Transaction<Database> | Kysely<Database>, { type, resource }: { type: string; resource: ResourceRef }): Promise<void> {
    const now = nowIso();
    const cancelled = await trx
      .updateTable('tasks')
      .set({ status: 'cancelled', finished_at: now, updated_at: now, error: JSON.stringify({ code: 'cancelled', message: 'The task was cancelled: it had nothing left to do.' }) })
      .where('type', '=', type)
      .where('status', '=', 'pending')
      .where('id', 'in', (eb) => whereResource(eb.selectFrom('task_resources').select('task_id'), `${resource.type}:${resource.id}`))
      .returningAll()
      .execute();
    if (cancelled.length === 0) return;
    await events.record(trx, cancelled.map((row) => taskEvent(row, 'cancelled')));
    await notifier.notify(trx, 'tasks');
  }

  /** Ends every long poll (shutdown): each answers with the task as it is. */
  function close(): void {
    closing.abort();
  }

  return { enqueue, create, get, readIf, list, wait, cancel, cancelPending, close };
}

function uniqueResources(resources: ResourceRef[]): ResourceRef[] {
  const seen = new Map(resources.map((r) => [`${r.type}:${r.id}`, r]));
  return [...seen.values()];
}
