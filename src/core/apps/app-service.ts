import type { Transaction } from 'kysely';
import type { AppRow, Database } from '../../store/schema.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import { assertAllowed, assertScope, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import type { Executor } from '../compute/context.ts';
import { InvalidState, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import { choiceFilter, runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { Store } from '../../store/database.ts';
import type { Task, TaskService } from '../tasks/task-service.ts';
import type { AppQuotas } from './app-quotas.ts';
import { appEvent, webUrl, type AppSettings } from './context.ts';
import { checkAppName, checkStack, DEFAULT_STACK } from './rules.ts';

export interface App {
  id: string;
  name: string;
  organization_id: string;
  status: AppRow['status'];
  stack: string;
  force_https: boolean;
  health_check_path: string | null;
  web_url: string;
  last_deployed_at: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface AppInput {
  name?: string;
  stack?: string;
  force_https?: boolean;
  health_check_path?: string | null;
}

const STATUSES = ['new', 'building', 'running', 'stopped', 'crashed', 'restarting', 'scaling', 'booting', 'deleting'];

const listSpec: ListSpec = {
  filters: {
    name: (query, value) => query.where('name', '=', value),
    status: choiceFilter('status', 'status', STATUSES),
  },
  searchColumns: ['name'],
  orderings: { name: 'name', created_at: 'created_at', updated_at: 'updated_at', status: 'status' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

const NAME_TAKEN = 'is already taken';
/** A request path the health check asks: printable, no spaces. */
const HEALTH_CHECK_PATH = /^\/[\x21-\x7e]{0,199}$/;

/** What a caller does with an app: `read` it, or `write` it (deploy, scale, variables, domains...). */
export type AppAccess = 'read' | 'write';

export type AppService = ReturnType<typeof createAppService>;

/** Apps: records of the acting organization's subtree, found by id or by name. */
export function createAppService(deps: { store: Store; events: EventService; tasks: TaskService; limits: AppQuotas; settings: AppSettings }) {
  const { store, events, tasks, limits, settings } = deps;
  const { db } = store;

  const toApp = (row: AppRow): App => ({
    id: row.id,
    name: row.name,
    organization_id: row.organization_id,
    status: row.status,
    stack: row.stack,
    force_https: row.force_https === 1,
    health_check_path: row.health_check_path,
    web_url: webUrl(settings, row.name),
    last_deployed_at: row.last_deployed_at,
    revision: row.revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
  });

  const visible = (actor: Actor, executor: Executor = db) => executor.selectFrom('apps').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  /** The apps the actor's user collaborates on (accepted invitations), whatever their organization. */
  const sharedIds = (actor: Actor) => db.selectFrom('app_collaborators').select('app_id').where('user_id', '=', actor.principal.userId).where('status', '=', 'accepted');
  const notFound = () => new NotFound('app', 'No app matches the given query.');

  /** An app of the actor's subtree by id or by name, whatever the actor's role there; anything else is a 404. */
  async function findVisible(actor: Actor, idOrName: string, executor: Executor = db): Promise<AppRow> {
    const row = await visible(actor, executor).where(isUuid(idOrName) ? 'id' : 'name', '=', idOrName).executeTakeFirst();
    if (!row) throw notFound();
    return row;
  }

  /**
   * An app the actor may `access`: one of its subtree, under its role there, or one its user
   * collaborates on, under its credential's scopes; anything else is a 404.
   */
  async function reach(actor: Actor, idOrName: string, access: AppAccess): Promise<AppRow> {
    const row = await db.selectFrom('apps').selectAll()
      .where(isUuid(idOrName) ? 'id' : 'name', '=', idOrName)
      .where((eb) => eb.or([eb('organization_path', 'like', `${actor.organizationPath}%`), eb('id', 'in', sharedIds(actor))]))
      .executeTakeFirst();
    if (!row) throw notFound();
    if (row.organization_path.startsWith(actor.organizationPath)) assertAllowed(actor, `app:${access}`);
    else assertScope(actor, `app:${access}`);
    return row;
  }

  /**
   * An app for what only its organization may do (rename, transfer, delete, manage its
   * collaborators): a collaborator, who sees the app, is refused with a 403.
   */
  async function findOwned(actor: Actor, idOrName: string, access: AppAccess = 'write'): Promise<AppRow> {
    const row = await reach(actor, idOrName, access);
    if (!row.organization_path.startsWith(actor.organizationPath)) throw new PermissionDenied("Only the app's organization may do this; collaborators may not.");
    return row;
  }

  /** A task on the app (a scale, a restart, a run...), for whoever reaches the app: its organization or a collaborator. */
  async function task(actor: Actor, idOrName: string, id: string): Promise<Task> {
    const app = await reach(actor, idOrName, 'read');
    // Every app task names its app in its input (a run locks no resource, so the input is what says it).
    return tasks.readIf(id, (found) => found.type.startsWith('app.') && found.input.app_id === app.id);
  }

  /** The apps of the actor's subtree (when its role reads them) and the apps its user collaborates on. */
  async function list(actor: Actor, request: ListRequest): Promise<ListResult<App>> {
    const ownApps = actor.permissions.has('app:read');
    if (!ownApps) assertScope(actor, 'app:read');
    const query = db.selectFrom('apps').selectAll()
      .where((eb) => (ownApps ? eb.or([eb('organization_path', 'like', `${actor.organizationPath}%`), eb('id', 'in', sharedIds(actor))]) : eb('id', 'in', sharedIds(actor))));
    const result = await runList<AppRow>(db, query, listSpec, request);
    return { ...result, items: result.items.map(toApp) } as ListResult<App>;
  }

  async function get(actor: Actor, idOrName: string): Promise<App> {
    return toApp(await reach(actor, idOrName, 'read'));
  }

  /** A unique-name violation as the field error a user reads. */
  async function naming<T>(field: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isUniqueViolation(error)) throw ValidationFailed.field(field, NAME_TAKEN);
      throw error;
    }
  }

  /** The row of a new app of the acting organization; `record` stores it. */
  function newRow(actor: Actor, input: AppInput): AppRow {
    const now = nowIso();
    return {
      id: newId(),
      organization_id: actor.organizationId,
      organization_path: actor.organizationPath,
      name: input.name!,
      status: 'new',
      stack: input.stack ?? DEFAULT_STACK,
      force_https: input.force_https ? 1 : 0,
      health_check_path: null,
      last_deployed_at: null,
      current_release_id: null,
      revision: 1,
      created_at: now,
      updated_at: now,
    };
  }

  /** Within `trx`: counts the app against the quota, stores it and records its event (an order makes its apps so). */
  async function record(trx: Transaction<Database>, actor: Actor, row: AppRow, data: Record<string, unknown> = {}): Promise<void> {
    await limits.forApp(trx, actor.organizationId);
    await trx.insertInto('apps').values(row).execute();
    await events.record(trx, appEvent(row, 'new_app', actor, { stack: row.stack, ...data }));
  }

  /** A new app; a dry run (Scalingo's `X-Dry-Run`) checks everything the real one would and makes nothing. */
  async function create(actor: Actor, input: AppInput, { dryRun = false }: { dryRun?: boolean } = {}): Promise<App> {
    assertAllowed(actor, 'app:write');
    const errors: FieldErrors = {};
    checkAppName(errors, 'name', input.name);
    checkStack(errors, input.stack);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const row = newRow(actor, input);
    await naming('name', () =>
      db.transaction().execute(async (trx) => {
        if (dryRun) {
          await limits.forApp(trx, actor.organizationId);
          if (await trx.selectFrom('apps').select('id').where('name', '=', row.name).executeTakeFirst()) throw ValidationFailed.field('name', NAME_TAKEN);
          return;
        }
        await record(trx, actor, row);
      }),
    );
    return toApp(row);
  }

  /**
   * Applies `changes` to the app if nobody changed it since `current` was read, recording `event`
   * in the same transaction; `admit` runs inside it once the change is made (quotas of a transfer).
   */
  async function change(actor: Actor, current: AppRow, changes: Partial<AppRow>, event: { type: string; data: Record<string, unknown> }, admit?: (trx: Executor) => Promise<void>): Promise<App> {
    const next = { ...current, ...changes, revision: current.revision + 1, updated_at: nowIso() };
    await db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('apps').set({ ...changes, revision: next.revision, updated_at: next.updated_at }).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The app was changed by another request; read it again and retry.');
      await admit?.(trx);
      await events.record(trx, appEvent(next, event.type, actor, event.data));
    });
    return toApp(next);
  }

  function assertNotDeleting(row: AppRow): void {
    if (row.status === 'deleting') throw new InvalidState(row.status, STATUSES.filter((s) => s !== 'deleting'), 'The app is being deleted.');
  }

  /** Settings: the stack, `force_https` and the health check path (null for a TCP check). */
  async function update(actor: Actor, idOrName: string, input: Pick<AppInput, 'stack' | 'force_https' | 'health_check_path'>, options: { expectedRevision?: number } = {}): Promise<App> {
    const current = await reach(actor, idOrName, 'write');
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    assertNotDeleting(current);
    const errors: FieldErrors = {};
    checkStack(errors, input.stack);
    const path = input.health_check_path;
    if (path !== undefined && path !== null && !HEALTH_CHECK_PATH.test(path)) errors.health_check_path = ['Enter a path starting with / (at most 200 characters, no spaces), or null for a TCP check.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const changes = {
      stack: input.stack ?? current.stack,
      force_https: input.force_https === undefined ? current.force_https : input.force_https ? 1 : 0,
      health_check_path: path === undefined ? current.health_check_path : path,
    };
    return change(actor, current, changes, { type: 'edit_app', data: { stack: changes.stack, force_https: changes.force_https === 1, health_check_path: changes.health_check_path } });
  }

  /** A new name: the router serves the app at its new host name at once, and no longer at the old one. */
  async function rename(actor: Actor, idOrName: string, input: { new_name?: string; current_name?: string }): Promise<App> {
    const current = await findOwned(actor, idOrName);
    assertNotDeleting(current);
    const errors: FieldErrors = {};
    checkAppName(errors, 'new_name', input.new_name);
    // Scalingo asks for the current name as a confirmation: when given, it must match.
    if (input.current_name !== undefined && input.current_name !== current.name) errors.current_name = ['does not match the name of the app'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    if (input.new_name === current.name) return toApp(current);
    return naming('new_name', () => change(actor, current, { name: input.new_name! }, { type: 'rename_app', data: { old_name: current.name, new_name: input.new_name } }));
  }

  /**
   * Moves the app to another organization of the actor's subtree. It counts against the
   * target's quotas (and its ancestors'); the actor needs `app:write` where it acts, which
   * covers both ends.
   */
  async function transfer(actor: Actor, idOrName: string, input: { organization_id?: string }): Promise<App> {
    const current = await findOwned(actor, idOrName);
    assertNotDeleting(current);
    const target = typeof input.organization_id === 'string' && isUuid(input.organization_id)
      ? await db.selectFrom('organizations').select(['id', 'path']).where('id', '=', input.organization_id).where('path', 'like', `${actor.organizationPath}%`).executeTakeFirst()
      : undefined;
    if (!target) throw ValidationFailed.field('organization_id', 'No organization of yours matches this id.');
    if (target.id === current.organization_id) return toApp(current);
    return change(
      actor,
      current,
      { organization_id: target.id, organization_path: target.path },
      { type: 'transfer_app', data: { from: current.organization_id, to: target.id } },
      (trx) => limits.forArrival(trx, target.id),
    );
  }

  /** DELETE: the app goes `deleting` and its task tears it down (containers, releases, routes, logs), then removes it. */
  async function remove(actor: Actor, idOrName: string, options: { expectedRevision?: number; currentName?: string } = {}): Promise<Task> {
    const current = await findOwned(actor, idOrName);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    if (options.currentName !== undefined && options.currentName !== current.name) throw ValidationFailed.field('current_name', 'does not match the name of the app');
    assertNotDeleting(current);
    return db.transaction().execute((trx) => beginDelete(trx, actor, current));
  }

  /** Within `trx`: the app goes `deleting` and the task that tears it down is enqueued (a project's cascade deletes its apps so). */
  async function beginDelete(trx: Transaction<Database>, actor: Actor, current: AppRow): Promise<Task> {
    const moved = await trx.updateTable('apps').set({ status: 'deleting', revision: current.revision + 1, updated_at: nowIso() }).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw new PreconditionFailed('The app was changed by another request; read it again and retry.');
    await events.record(trx, appEvent(current, 'delete_app', actor));
    return tasks.enqueue(trx, actor, { type: 'app.delete', input: { app_id: current.id } });
  }

  return { list, get, task, newRow, record, create, update, rename, transfer, remove, beginDelete, findVisible, reach, findOwned, toApp };
}
