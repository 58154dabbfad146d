import { hostname } from 'node:os';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Store } from '../../store/database.ts';
import { jsonRows } from '../../store/json-rows.ts';
import { preparedStatement } from '../../store/prepared-statements.ts';
import type { Notifier } from '../../store/notifier.ts';
import { claimableRows } from '../../store/row-claims.ts';
import type { Database, TaskRow, TaskStatus } from '../../store/schema.ts';
import { isoAfter, nowIso } from '../clock.ts';
import { DomainError, InvalidState, ValidationFailed } from '../errors.ts';
import { eventRows, newEventKey, type EventService } from '../events/event-service.ts';
import { RetryableError, type ResourceRef, type TaskContext, type TaskHandlerRegistry } from './handlers.ts';
import { groupCommit } from './group-commit.ts';
import { taskEvent, type TaskError } from './task-service.ts';

export interface WorkerSettings {
  /** Tasks run at once by this process; 0 runs no worker here. */
  concurrency: number;
  /** Of those, the most one tenant (see `tenantOf`) may hold at once, so that others always find room. */
  slotsPerTenant: number;
  /** A claimed task belongs to its worker this long past the last heartbeat. */
  leaseSeconds: number;
  /** Finished tasks are kept this long, then purged. */
  retentionSeconds: number;
  /** On shutdown, running handlers get this long to finish before they are interrupted. */
  shutdownGraceSeconds: number;
}

/** Claims look for work at least this often, whatever the wake-ups say. */
const POLL_MS = 1_000;
const CLAIM_BATCH = 64;
/** After a claim that emptied the queue, the next waits at least this long (whatever wakes it). */
const CLAIM_COOLDOWN_MS = 20;
const TRANSITION_BATCH = 500;
const PURGE_BATCH = 1_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const ABANDON_AFTER_ABORT_MS = 5_000;

type AbortReason = 'cancelled' | 'lease_lost' | 'shutdown';

interface RunningTask {
  row: TaskRow;
  controller: AbortController;
  reason: AbortReason | null;
  checkpoint: Record<string, unknown>;
  /** Its handler still runs. Only such tasks take up the worker's slots; one whose outcome is being recorded does not. */
  executing: boolean;
  done: Promise<void>;
}

interface Transition {
  running: RunningTask;
  status: TaskStatus;
  changes: Partial<TaskRow>;
  eventData: Record<string, unknown>;
}

/**
 * The tenant a task's organization belongs to, by its materialized path: the organization right
 * below the root, with everything under it (the root's own tasks are a tenant of their own).
 * Fairness is per tenant, not per organization, so that creating sub-organizations does not
 * buy a tenant more of the workers.
 */
export function tenantOf(organizationPath: string): string {
  return /^\/[^/]+\/(?:[^/]+\/)?/.exec(organizationPath)?.[0] ?? organizationPath;
}

/** A task belongs to `tenant` (as `tenantOf` names it): the root's own tenant is its path alone, any other its whole subtree. */
const inTenant = (tenant: string) =>
  tenant.split('/').length === 3 ? sql<boolean>`${sql.ref('organization_path')} = ${tenant}` : sql<boolean>`${sql.ref('organization_path')} like ${`${tenant}%`}`;

/**
 * Takes up to `limit` of `candidates` (in the order given), one tenant at a time in turn, each
 * tenant at most `room(tenant)`: a batch is shared fairly rather than going to whoever queued first.
 */
export function pickFairly<T extends { organization_path: string }>(candidates: T[], limit: number, room: (tenant: string) => number): T[] {
  const queues = new Map<string, T[]>();
  for (const candidate of candidates) {
    const tenant = tenantOf(candidate.organization_path);
    queues.set(tenant, [...(queues.get(tenant) ?? []), candidate]);
  }
  const left = new Map([...queues.keys()].map((tenant) => [tenant, Math.max(0, room(tenant))]));
  const picked: T[] = [];
  while (picked.length < limit) {
    let progressed = false;
    for (const [tenant, queue] of queues) {
      if (picked.length >= limit || queue.length === 0 || left.get(tenant)! <= 0) continue;
      picked.push(queue.shift()!);
      left.set(tenant, left.get(tenant)! - 1);
      progressed = true;
    }
    if (!progressed) return picked;
  }
  return picked;
}

/** Exponential backoff with jitter: about 1 s, 2 s, 4 s... capped at five minutes. */
export function retryDelayMs(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

function toTaskError(error: unknown): TaskError {
  if (error instanceof InvalidState) return { code: error.code, message: error.message, context: { current: error.current, expected: error.expected } };
  if (error instanceof ValidationFailed) return { code: error.code, message: error.message, context: { fields: error.fields, non_field_errors: error.nonField } };
  if (error instanceof DomainError || error instanceof RetryableError) return { code: error.code, message: error.message };
  return { code: 'internal_error', message: 'The task failed unexpectedly; the server log has the details.' };
}

/** A flag that a waiter can sleep on: set by wake-ups, cleared by the wait that consumes it. */
function wakeFlag() {
  let raised = false;
  let resolveWaiter: (() => void) | null = null;
  return {
    raise() {
      raised = true;
      resolveWaiter?.();
    },
    async wait(ms: number): Promise<void> {
      if (!raised) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          resolveWaiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        resolveWaiter = null;
      }
      raised = false;
    },
  };
}

export type TaskWorker = ReturnType<typeof createTaskWorker>;

/**
 * Runs tasks. Each process's worker claims due tasks in batches and holds each under a lease
 * that heartbeats renew; a task whose worker died is claimed again once its lease expires.
 * A task that names resources runs only while it holds all of their locks, so two tasks never
 * change the same resource at once (the later one waits). Results are written only while the
 * lease is still ours, so a task taken over by another worker is never finished twice.
 * Claims are fair between tenants: one tenant holds at most `slotsPerTenant` of this worker's
 * slots, and due tasks of tenants holding fewer slots here are taken first.
 */
export function createTaskWorker(deps: { store: Store; events: EventService; notifier: Notifier; handlers: TaskHandlerRegistry; settings: WorkerSettings; logger: Logger }) {
  const { store, events, notifier, handlers, settings } = deps;
  const { db } = store;
  const logger = deps.logger.child({ component: 'worker' });
  const workerId = `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const leaseMs = settings.leaseSeconds * 1000;
  const active = new Map<string, RunningTask>();
  const wake = wakeFlag();
  const stops: (() => void)[] = [];
  let stopping = false;
  let loop: Promise<void> | null = null;
  let finishedSinceClaim = false;
  /** The last claim met tasks naming resources: the next takes locks at once, without trying the one-statement claim first. */
  let metLocking = false;
  let endCooldown: (() => void) | null = null;

  const executing = () => [...active.values()].filter((running) => running.executing);

  /** The slots this worker's running tasks hold, per tenant. */
  function heldByTenant(): Map<string, number> {
    const held = new Map<string, number>();
    for (const { row } of executing()) {
      const tenant = tenantOf(row.organization_path);
      held.set(tenant, (held.get(tenant) ?? 0) + 1);
    }
    return held;
  }

  /**
   * The due tasks a claim may take, up to `limit`, in the order it should take them: tenants
   * holding all their slots wait, those holding fewer come first (the idle before all).
   */
  function candidatesQuery(qb: Kysely<Database> | Transaction<Database>, now: string, held: Map<string, number>, limit: number) {
    const full = [...held].filter(([, n]) => n >= settings.slotsPerTenant).map(([tenant]) => tenant);
    const busy = [...held].filter(([, n]) => n < settings.slotsPerTenant);
    let query = qb
      .selectFrom('tasks')
      .select(['id', 'resources', 'organization_path'])
      .where('type', 'in', handlers.types())
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'pending'), eb('run_after', '<=', now)]),
          eb.and([eb('status', 'in', ['running', 'cancelling']), eb('locked_until', '<', now)]),
        ]),
      )
      // Tasks waiting for a resource another task holds are passed over, so that a queue
      // behind one busy resource never holds up the tasks behind it.
      .where(({ not, exists, selectFrom, ref }) =>
        not(
          exists(
            selectFrom('task_resources')
              .innerJoin('resource_locks', (join) => join.on('resource_locks.resource', '=', sql<string>`task_resources.resource_type || ':' || task_resources.resource_id`))
              .select('resource_locks.task_id')
              .whereRef('task_resources.task_id', '=', ref('tasks.id'))
              .whereRef('resource_locks.task_id', '<>', ref('tasks.id')),
          ),
        ),
      );
    if (full.length) query = query.where(sql<boolean>`not (${sql.join(full.map(inTenant), sql` or `)})`);
    if (busy.length) query = query.orderBy(sql`case ${sql.join(busy.map(([tenant, n]) => sql`when ${inTenant(tenant)} then ${n}`), sql` `)} else 0 end`);
    return claimableRows(store.dialect, query.orderBy('run_after').limit(limit));
  }

  /** Makes the chosen tasks ours: running (or still cancelling), one attempt more, under our lease. */
  function takeOver(qb: Kysely<Database> | Transaction<Database>, now: string) {
    return qb.updateTable('tasks').set((eb) => ({
      status: eb.case().when('status', '=', 'cancelling').then(eb.val<TaskStatus>('cancelling')).else(eb.val<TaskStatus>('running')).end(),
      attempts: eb('attempts', '+', 1),
      started_at: eb.fn.coalesce('started_at', eb.val(now)),
      locked_by: workerId,
      locked_until: isoAfter(leaseMs),
      updated_at: now,
    }));
  }

  /**
   * Claims up to `limit` due tasks. `passedOver` says some due tasks were left for want of their
   * tenant's room in this batch, so that the caller looks again at once for other tenants' tasks.
   */
  async function claim(limit: number): Promise<{ claimed: TaskRow[]; passedOver: boolean }> {
    const held = heldByTenant();
    if (store.dialect === 'postgres' && !metLocking) {
      const claimed = await claimInOneStatement(limit, held);
      if (claimed) return claimed;
    }
    return db.transaction().execute(async (trx) => {
      const now = nowIso();
      const candidates = await candidatesQuery(trx, now, held, limit).execute();
      metLocking = candidates.some((candidate) => candidate.resources !== '[]');
      if (candidates.length === 0) return { claimed: [], passedOver: false };
      const fair = pickFairly(candidates, limit, (tenant) => settings.slotsPerTenant - (held.get(tenant) ?? 0));
      const passedOver = fair.length < candidates.length;
      const winners = await takeResourceLocks(trx, fair);
      if (winners.length === 0) return { claimed: [], passedOver };
      const claimed = await takeOver(trx, now).where('id', 'in', winners).returningAll().execute();
      const started = claimed.filter((row) => row.status === 'running');
      await events.record(trx, started.map((row) => taskEvent(row, 'running', { attempt: row.attempts })));
      return { claimed, passedOver };
    });
  }

  /**
   * PostgreSQL: the claim as one statement (atomic by itself), so a claim costs one round trip
   * instead of a transaction's five, and one that finds nothing one instead of three. It takes
   * only as many tasks as every tenant has room for, so that no candidate has to be left out for
   * fairness, and it takes none when a candidate names resources: undefined then, and the
   * claim takes its locks in a transaction.
   */
  async function claimInOneStatement(limit: number, held: Map<string, number>): Promise<{ claimed: TaskRow[]; passedOver: boolean } | undefined> {
    const now = nowIso();
    const fairLimit = Math.min(limit, settings.slotsPerTenant - Math.max(0, ...[...held.values()].filter((n) => n < settings.slotsPerTenant)));
    // The 'task.running' events, as taskEvent(row, 'running', { attempt }) makes them; the
    // statement's key, with each row's number appended, keeps them in order.
    const { rows } = await sql<{ claimed: TaskRow[]; locking: boolean }>`
      with candidates as (${candidatesQuery(db, now, held, fairLimit)}),
      claimed as (${takeOver(db, now)
        .where(sql<boolean>`id in (select id from candidates) and not exists (select 1 from candidates where resources <> '[]')`)
        .returningAll()}),
      started as (
        insert into events (key, id, type, organization_id, organization_path, actor, resource_type, resource_id, data, request_id, created_at)
        select ${newEventKey()}::text || '.' || lpad((row_number() over (order by id))::text, 5, '0'), null, 'task.running', organization_id,
          organization_path, requested_by, 'task', id, json_build_object('task_type', type, 'attempt', attempts)::text, request_id, ${now}::text
        from claimed where status = 'running'
      )
      select (select coalesce(json_agg(claimed), '[]') from claimed) as claimed,
        exists (select 1 from candidates where resources <> '[]') as locking${preparedStatement}`.execute(db);
    const { claimed, locking } = rows[0]!;
    if (locking) return undefined;
    if (claimed.some((row) => row.status === 'running')) await notifier.notify(db, 'events');
    return { claimed, passedOver: fairLimit < limit && claimed.length === fairLimit };
  }

  /**
   * Takes the resource locks of the candidates, all in one statement in resource order, so that
   * concurrent claimers wait on shared rows in the same order and cannot deadlock. Among
   * candidates wanting one resource the earliest wins; a candidate that cannot have all of its
   * locks gives back the ones it took and stays pending. A task taken over after a crash still
   * holds its locks (they are released only when it leaves `running`).
   */
  async function takeResourceLocks(trx: Transaction<Database>, candidates: { id: string; resources: string }[]): Promise<string[]> {
    const wants = candidates.map((c) => ({ id: c.id, keys: (JSON.parse(c.resources) as ResourceRef[]).map((r) => `${r.type}:${r.id}`) }));
    const requests = wants.flatMap((w) => w.keys.map((resource) => ({ resource, task_id: w.id })));
    if (requests.length === 0) return wants.map((w) => w.id);
    requests.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
    await trx.insertInto('resource_locks').values(requests).onConflict((oc) => oc.column('resource').doNothing()).execute();
    const holders = await trx
      .selectFrom('resource_locks')
      .select(['resource', 'task_id'])
      .where('resource', 'in', [...new Set(requests.map((r) => r.resource))])
      .execute();
    const holderOf = new Map(holders.map((h) => [h.resource, h.task_id]));
    const winners = wants.filter((w) => w.keys.every((key) => holderOf.get(key) === w.id)).map((w) => w.id);
    const losers = wants.filter((w) => w.keys.length > 0 && !winners.includes(w.id)).map((w) => w.id);
    if (losers.length) await trx.deleteFrom('resource_locks').where('task_id', 'in', losers).execute();
    return winners;
  }

  /**
   * Applies a change to a task we hold, with its event; false when the lease was lost meanwhile.
   * Changes made together go in one transaction (group commit): many short tasks finish at
   * once, and one transaction records them all.
   */
  const transitionGroup = groupCommit(async (batch: Transition[]) => {
    const applied = await applyTransitions(batch);
    return batch.map((t) => applied.has(t.running.row.id));
  }, TRANSITION_BATCH);

  function transition(running: RunningTask, status: TaskStatus, changes: Partial<TaskRow>, eventData: Record<string, unknown>): Promise<boolean> {
    return transitionGroup({ running, status, changes, eventData });
  }

  /**
   * Records the outcomes of `batch`, each only while the task is still ours, with their events;
   * the ids of those recorded. Tasks with the same outcome are changed by one update. PostgreSQL
   * does it all with one statement (atomic by itself), SQLite in a transaction.
   */
  async function applyTransitions(batch: Transition[]): Promise<Set<string>> {
    const now = nowIso();
    const groups = new Map<string, Transition[]>();
    for (const t of batch) {
      const key = JSON.stringify([t.status, t.running.row.attempts, t.changes]);
      groups.set(key, [...(groups.get(key) ?? []), t]);
    }
    const changes = (qb: Kysely<Database> | Transaction<Database>) =>
      [...groups.values()].map((group) => {
        const { status, changes, running } = group[0]!;
        const ids = group.map((t) => t.running.row.id);
        return qb
          .updateTable('tasks')
          .set({ ...changes, status, locked_by: null, locked_until: null, updated_at: now, ...(status !== 'pending' ? { finished_at: now } : {}) })
          // PostgreSQL: one array, so that the statement's text is the same whatever the batch's size.
          .where(store.dialect === 'postgres' ? sql<boolean>`id = any(${ids})` : sql<boolean>`id in (${sql.join(ids)})`)
          .where('locked_by', '=', workerId)
          .where('attempts', '=', running.row.attempts)
          .returning('id');
      });
    const outcomeEvents = (transitions: Transition[]) => transitions.map((t) => taskEvent(t.running.row, t.status === 'pending' ? 'retrying' : t.status, t.eventData));
    const holdingResources = batch.some((t) => t.running.row.resources !== '[]');

    if (store.dialect === 'postgres') {
      const updates = changes(db);
      const { rows } = await sql<{ id: string }>`
        with ${sql.join(updates.map((update, i) => sql`${sql.id(`changed_${i}`)} as (${update})`))},
        applied as (${sql.join(updates.map((_, i) => sql`select id from ${sql.id(`changed_${i}`)}`), sql` union all `)}),
        ${holdingResources ? sql`freed as (delete from resource_locks where task_id in (select id from applied)),` : sql``}
        recorded as (insert into events select * from (${jsonRows('events', eventRows(outcomeEvents(batch)))}) as outcome where resource_id in (select id from applied))
        select id from applied${preparedStatement}`.execute(db);
      const applied = new Set(rows.map((row) => row.id));
      if (applied.size > 0) {
        await notifier.notify(db, 'events');
        await notifier.notify(db, 'tasks');
      }
      return applied;
    }
    return db.transaction().execute(async (trx) => {
      const applied = new Set<string>();
      for (const update of changes(trx)) for (const { id } of await update.execute()) applied.add(id);
      if (applied.size === 0) return applied;
      const done = batch.filter((t) => applied.has(t.running.row.id));
      if (holdingResources) await trx.deleteFrom('resource_locks').where('task_id', 'in', [...applied]).execute();
      await events.record(trx, outcomeEvents(done));
      await notifier.notify(trx, 'tasks');
      return applied;
    });
  }

  function contextFor(running: RunningTask): TaskContext {
    const { row } = running;
    return {
      taskId: row.id,
      type: row.type,
      input: JSON.parse(row.input),
      attempt: row.attempts,
      signal: running.controller.signal,
      async progress(percent, message = '') {
        await db
          .updateTable('tasks')
          .set({ progress: Math.max(0, Math.min(100, Math.round(percent))), progress_message: message.slice(0, 500), updated_at: nowIso() })
          .where('id', '=', row.id)
          .where('locked_by', '=', workerId)
          .where('attempts', '=', row.attempts)
          .execute();
      },
      async step(name, work) {
        if (name in running.checkpoint) return running.checkpoint[name] as never;
        const { value, checkpoint } = await db.transaction().execute(async (trx) => {
          const value = await work(trx);
          const checkpoint = { ...running.checkpoint, [name]: value ?? null };
          const result = await trx
            .updateTable('tasks')
            .set({ checkpoint: JSON.stringify(checkpoint) })
            .where('id', '=', row.id)
            .where('locked_by', '=', workerId)
            .where('attempts', '=', row.attempts)
            .executeTakeFirst();
          // Another worker owns the task now: undo this step's writes, it will do them itself.
          if (Number(result.numUpdatedRows) !== 1) throw new LeaseLost();
          return { value, checkpoint };
        });
        running.checkpoint = checkpoint;
        return value;
      },
    };
  }

  async function execute(running: RunningTask): Promise<void> {
    const { row } = running;
    const handler = handlers.get(row.type)!;
    if (row.attempts > row.max_attempts) {
      finishedExecuting(running);
      await transition(running, 'failed', { error: JSON.stringify({ code: 'too_many_attempts', message: `The task was started ${row.max_attempts} times without finishing.` }) }, {});
      return;
    }
    let result: unknown;
    try {
      result = await handler.run(contextFor(running));
    } catch (error) {
      finishedExecuting(running);
      await afterFailure(running, error);
      return;
    }
    finishedExecuting(running);
    if (running.reason === 'lease_lost') return;
    await transition(running, 'succeeded', { result: JSON.stringify(result ?? null), progress: 100, error: null }, {});
  }

  async function afterFailure(running: RunningTask, error: unknown): Promise<void> {
    const { row } = running;
    if (running.reason === 'lease_lost' || error instanceof LeaseLost) {
      logger.warn({ task: row.id }, 'lost the lease of a running task; another worker has taken it over');
      return;
    }
    if (running.reason === 'cancelled') {
      await transition(running, 'cancelled', { error: JSON.stringify({ code: 'cancelled', message: 'The task was cancelled.' }) }, {});
      return;
    }
    if (running.reason === 'shutdown') {
      // Interrupted by this process stopping: back to the queue at once, to resume from its checkpoint.
      await transition(running, 'pending', { run_after: nowIso() }, { attempt: row.attempts, reason: 'shutdown' });
      return;
    }
    const taskError = toTaskError(error);
    if (!(error instanceof DomainError) && !(error instanceof RetryableError)) logger.error({ err: error, task: row.id, type: row.type }, 'task handler failed');
    if (error instanceof RetryableError && row.attempts < row.max_attempts) {
      const delay = retryDelayMs(row.attempts);
      await transition(running, 'pending', { error: JSON.stringify(taskError), run_after: isoAfter(delay) }, { attempt: row.attempts, error: taskError, retry_in_ms: delay });
      return;
    }
    await transition(running, 'failed', { error: JSON.stringify(taskError) }, { error: taskError });
  }

  /**
   * Its slot is free once its handler has returned: the next claim need not wait for the
   * outcome's commit. Unless the task holds resources: the tasks waiting for them become due
   * only with that commit, and a claim now would find them still locked.
   */
  function finishedExecuting(running: RunningTask): void {
    running.executing = false;
    if (running.row.resources === '[]') wake.raise();
  }

  function launch(row: TaskRow): void {
    const running: RunningTask = { row, controller: new AbortController(), reason: null, checkpoint: JSON.parse(row.checkpoint), executing: true, done: Promise.resolve() };
    if (row.status === 'cancelling') abort(running, 'cancelled');
    active.set(row.id, running);
    running.done = execute(running)
      .catch((error) => logger.error({ err: error, task: row.id }, 'could not record the outcome of a task; its lease will expire and it will run again'))
      .finally(() => {
        active.delete(row.id);
        // Its outcome is committed: the resources it held are free for the tasks waiting on them.
        finishedSinceClaim = true;
        endCooldown?.();
        wake.raise();
      });
  }

  function abort(running: RunningTask, reason: AbortReason): void {
    if (running.reason) return;
    running.reason = reason;
    running.controller.abort(new Error(`task ${reason}`));
  }

  /** Renews our leases, and interrupts tasks that were cancelled or taken over. */
  async function heartbeat(): Promise<void> {
    const ids = [...active.keys()];
    if (ids.length === 0) return;
    await db.updateTable('tasks').set({ locked_until: isoAfter(leaseMs) }).where('locked_by', '=', workerId).where('id', 'in', ids).execute();
    await checkActive(ids);
  }

  async function checkActive(ids = [...active.keys()]): Promise<void> {
    if (ids.length === 0) return;
    const rows = await db.selectFrom('tasks').select(['id', 'status', 'locked_by', 'attempts']).where('id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const running = active.get(id);
      const row = byId.get(id);
      if (!running) continue;
      if (!row || row.locked_by !== workerId || row.attempts !== running.row.attempts) abort(running, 'lease_lost');
      else if (row.status === 'cancelling') abort(running, 'cancelled');
    }
  }

  async function runLoop(): Promise<void> {
    let lastClaim = 0;
    while (!stopping) {
      // Tasks whose outcomes are still being recorded count too, up to a second batch's worth:
      // claims go on while outcomes commit, but never pile up ahead of a slow commit.
      const free = Math.min(settings.concurrency - executing().length, 2 * settings.concurrency - active.size);
      let full = false;
      if (free > 0) {
        const limit = Math.min(free, CLAIM_BATCH);
        lastClaim = Date.now();
        finishedSinceClaim = false;
        try {
          const { claimed, passedOver } = await claim(limit);
          for (const row of claimed) launch(row);
          full = claimed.length === limit || passedOver;
        } catch (error) {
          logger.error({ err: error }, 'claiming tasks failed; retrying');
        }
      }
      // A full batch (or one that left tasks for want of their tenant's room) means more may be
      // due: claim again at once if there is room.
      if (full && executing().length < settings.concurrency) continue;
      await wake.wait(POLL_MS);
      // The last claim found every due task taken: the next waits out a short cooldown. Every
      // commit of every replica wakes every worker, and most such claims would find nothing.
      // Not after one of ours finished, though: the tasks queued behind its resources are due now.
      const cooldown = lastClaim + CLAIM_COOLDOWN_MS - Date.now();
      if (!full && !finishedSinceClaim && cooldown > 0 && !stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, cooldown);
          endCooldown = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        endCooldown = null;
      }
    }
  }

  /** Deletes tasks that finished before `before` (default: the retention period ago). */
  async function purgeFinished(before = new Date(Date.now() - settings.retentionSeconds * 1000).toISOString()): Promise<number> {
    let total = 0;
    for (;;) {
      const ids = (await db.selectFrom('tasks').select('id').where('finished_at', '<', before).limit(PURGE_BATCH).execute()).map((r) => r.id);
      if (ids.length === 0) return total;
      await db.deleteFrom('tasks').where('id', 'in', ids).execute();
      total += ids.length;
    }
  }

  function every(ms: number, what: string, work: () => Promise<unknown>): void {
    const timer = setInterval(() => work().catch((error) => logger.error({ err: error }, `${what} failed`)), ms);
    timer.unref();
    stops.push(() => clearInterval(timer));
  }

  function start(): void {
    if (settings.concurrency <= 0 || loop) return;
    stops.push(notifier.subscribe('tasks', wake.raise));
    stops.push(notifier.subscribe('task_cancel', () => void checkActive().catch((error) => logger.error({ err: error }, 'checking for cancellations failed'))));
    every(Math.max(200, leaseMs / 3), 'task heartbeat', heartbeat);
    every(Math.min(60_000, Math.max(1_000, settings.retentionSeconds * 1000)), 'purging finished tasks', purgeFinished);
    loop = runLoop();
    logger.info({ worker: workerId, concurrency: settings.concurrency }, 'task worker started');
  }

  /**
   * Stops claiming, lets running handlers finish within the grace period, then interrupts the
   * rest (they go back to the queue and resume from their checkpoints elsewhere or on restart).
   */
  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    wake.raise();
    await loop;
    const running = () => Promise.allSettled([...active.values()].map((r) => r.done));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([running(), new Promise((resolve) => (graceTimer = setTimeout(resolve, settings.shutdownGraceSeconds * 1000)))]);
    clearTimeout(graceTimer);
    for (const task of active.values()) abort(task, 'shutdown');
    // A handler that ignores its signal is left behind: its lease expires and it runs elsewhere.
    await Promise.race([running(), new Promise((resolve) => setTimeout(resolve, ABANDON_AFTER_ABORT_MS).unref())]);
    for (const stopOne of stops) stopOne();
  }

  return { start, stop, purgeFinished, id: workerId };
}

class LeaseLost extends Error {
  constructor() {
    super('the task lease was lost');
  }
}
