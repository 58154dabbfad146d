import type { Store } from '../../store/database.ts';
import type { AppContainerRow, AppFormationRow, AppRow } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import type { Executor } from '../compute/context.ts';
import { isUuid } from '../clock.ts';
import { InvalidState, NotFound, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import type { Task, TaskService } from '../tasks/task-service.ts';
import type { AppQuotas } from './app-quotas.ts';
import type { AppService } from './app-service.ts';
import { appEvent } from './context.ts';
import { MAX_AMOUNT, SIZES } from './plans.ts';

export interface ScaleInput {
  process_type?: string;
  amount?: number;
  size?: string;
}

export type FormationService = ReturnType<typeof createFormationService>;

/** The formation (amount and size per process type), scaling and restarting, and the containers running. */
export function createFormationService(deps: { store: Store; events: EventService; tasks: TaskService; apps: AppService; limits: AppQuotas }) {
  const { store, events, tasks, apps, limits } = deps;
  const { db } = store;

  const formationOf = (executor: Executor, appId: string) => executor.selectFrom('app_formation').selectAll().where('app_id', '=', appId).orderBy('process_type').execute();

  async function get(actor: Actor, appRef: string): Promise<AppFormationRow[]> {
    return formationOf(db, (await apps.reach(actor, appRef, 'read')).id);
  }

  async function containers(actor: Actor, appRef: string): Promise<AppContainerRow[]> {
    const app = await apps.reach(actor, appRef, 'read');
    return db.selectFrom('app_containers').selectAll().where('app_id', '=', app.id).orderBy('process_type').orderBy('process_index').execute();
  }

  /**
   * Sets amount and size of some process types of the current release; memory is counted
   * against `app_memory_bytes` over the organization's subtree. The scale task rolls it out.
   */
  async function scale(actor: Actor, appRef: string, changes: ScaleInput[]): Promise<{ formation: AppFormationRow[]; task: Task }> {
    const app = await apps.reach(actor, appRef, 'write');
    if (!app.current_release_id) throw new InvalidState(app.status, ['running'], 'The app has no release yet: deploy it first.');
    const release = await db.selectFrom('app_releases').select('procfile').where('id', '=', app.current_release_id).executeTakeFirstOrThrow();
    const types = Object.keys(JSON.parse(release.procfile) as Record<string, string>);
    const errors: FieldErrors = {};
    if (!changes.length) errors.containers = ['Give at least one process type to scale.'];
    for (const [i, change] of changes.entries()) {
      if (!change.process_type || !types.includes(change.process_type)) errors[`containers[${i}].name`] = [`"${change.process_type ?? ''}" is not a process type of the release. Choose from: ${types.join(', ')}.`];
      if (change.amount !== undefined && (!Number.isInteger(change.amount) || change.amount < 0 || change.amount > MAX_AMOUNT)) errors[`containers[${i}].amount`] = [`Ensure this value is a whole number from 0 to ${MAX_AMOUNT}.`];
      if (change.size !== undefined && !SIZES[change.size]) errors[`containers[${i}].size`] = [`"${change.size}" is not a valid choice. Choose from: ${Object.keys(SIZES).join(', ')}.`];
    }
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return db.transaction().execute(async (trx) => {
      const current = await formationOf(trx, app.id);
      const next = current.map((row) => {
        const change = changes.find((c) => c.process_type === row.process_type);
        return change ? { ...row, amount: change.amount ?? row.amount, size: change.size ?? row.size } : row;
      });
      const memory = (rows: AppFormationRow[]) => rows.reduce((total, row) => total + row.amount * SIZES[row.size]!.memoryBytes, 0);
      const growth = memory(next) - memory(current);
      if (growth > 0) await limits.forMemory(trx, app.organization_id, growth);
      // A scale says what should run from now on: an amount set while powered off is not brought back later.
      for (const row of next) await trx.updateTable('app_formation').set({ amount: row.amount, size: row.size, paused_amount: null }).where('app_id', '=', app.id).where('process_type', '=', row.process_type).execute();
      await events.record(trx, appEvent(app, 'scale', actor, { containers: next.map((r) => ({ name: r.process_type, amount: r.amount, size: r.size })) }));
      const task = await tasks.enqueue(trx, actor, { type: 'app.scale', input: { app_id: app.id, process_types: changes.map((c) => c.process_type) } });
      return { formation: next, task };
    });
  }

  /** Restarts some process types (all when `scope` is empty), without downtime. */
  async function restart(actor: Actor, appRef: string, scope: string[] = []): Promise<Task> {
    const app = await apps.reach(actor, appRef, 'write');
    if (!app.current_release_id) throw new InvalidState(app.status, ['running'], 'The app has no release yet: deploy it first.');
    const types = (await formationOf(db, app.id)).map((r) => r.process_type);
    const unknown = scope.find((t) => !types.includes(t));
    if (unknown !== undefined) throw ValidationFailed.field('scope', `"${unknown}" is not a process type of the app. Choose from: ${types.join(', ')}.`);
    return db.transaction().execute(async (trx) => {
      await events.record(trx, appEvent(app, 'restart', actor, { scope }));
      return tasks.enqueue(trx, actor, { type: 'app.restart', input: { app_id: app.id, process_types: scope.length ? scope : types } });
    });
  }

  /**
   * Powers the app off (every process type to 0, its amount kept) or on again (the kept
   * amounts back, counted against the memory quota). The scale task rolls it out; powering an
   * app that is already so changes nothing and enqueues nothing.
   */
  async function power(actor: Actor, appRef: string, action: 'stop' | 'start'): Promise<{ formation: AppFormationRow[]; task: Task | null }> {
    const app = await apps.reach(actor, appRef, 'write');
    if (!app.current_release_id) throw new InvalidState(app.status, ['running'], 'The app has no release yet: deploy it first.');
    return db.transaction().execute(async (trx) => {
      const current = await formationOf(trx, app.id);
      const next = current.map((row) => {
        if (action === 'stop') return row.amount > 0 ? { ...row, amount: 0, paused_amount: row.amount } : row;
        return row.paused_amount !== null ? { ...row, amount: row.paused_amount, paused_amount: null } : row;
      });
      const changed = next.filter((row, i) => row.amount !== current[i]!.amount);
      if (!changed.length) return { formation: current, task: null };
      if (action === 'start') await limits.forMemory(trx, app.organization_id, changed.reduce((total, row) => total + row.amount * SIZES[row.size]!.memoryBytes, 0));
      for (const row of changed) await trx.updateTable('app_formation').set({ amount: row.amount, paused_amount: row.paused_amount }).where('app_id', '=', app.id).where('process_type', '=', row.process_type).execute();
      await events.record(trx, appEvent(app, action === 'stop' ? 'power_off' : 'power_on', actor, { containers: changed.map((r) => ({ name: r.process_type, amount: r.amount })) }));
      const task = await tasks.enqueue(trx, actor, { type: 'app.scale', input: { app_id: app.id, process_types: changed.map((r) => r.process_type) } });
      return { formation: next, task };
    });
  }

  /** One running container, by its id, of an app the actor may read; anything else is a 404. */
  async function container(actor: Actor, id: string): Promise<{ app: AppRow; container: AppContainerRow }> {
    const row = isUuid(id) ? await db.selectFrom('app_containers').selectAll().where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('container', 'No container matches the given query.');
    return { app: await apps.reach(actor, row.app_id, 'read'), container: row };
  }

  return { get, containers, scale, restart, power, container };
}
