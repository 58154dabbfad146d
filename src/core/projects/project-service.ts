import type { Kysely } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { ProjectMemberType, ProjectRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { AppService } from '../apps/app-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import type { Executor } from '../compute/context.ts';
import { Conflict, NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService, NewEvent } from '../events/event-service.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { projectState, type ProjectState } from './project-state.ts';

export const MEMBER_TYPES: readonly ProjectMemberType[] = ['app', 'server', 'volume', 'image'];
/** Each member type's table and the column its status is read from. */
const MEMBER_TABLES = {
  app: { table: 'apps', status: 'status' },
  server: { table: 'servers', status: 'state' },
  volume: { table: 'volumes', status: 'state' },
  image: { table: 'images', status: 'status' },
} as const;

export interface ProjectMember {
  type: ProjectMemberType;
  id: string;
  name: string;
  status: string;
}

export interface Project {
  id: string;
  name: string;
  organization_id: string;
  state: ProjectState;
  members: ProjectMember[];
  revision: number;
  created_at: string;
  updated_at: string;
}

const NAME_MAX = 100;

const listSpec: ListSpec = {
  filters: { name: (query, value) => query.where('name', '=', value) },
  searchColumns: ['name'],
  orderings: { name: 'name', created_at: 'created_at', updated_at: 'updated_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

/** A project's name: 1 to 100 printable characters, trimmed; several projects may share one. */
export function checkProjectName(errors: FieldErrors, field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') errors[field] = ['This field is required.'];
  else if (value.trim().length > NAME_MAX) errors[field] = [`Ensure this field has no more than ${NAME_MAX} characters.`];
  else if (/[\p{Cc}\p{Cf}]/u.test(value)) errors[field] = ['Control and format characters are not allowed.'];
}

export function projectEvent(row: Pick<ProjectRow, 'id' | 'name' | 'organization_id' | 'organization_path'>, verb: string, actor: Actor | null, data: Record<string, unknown> = {}): NewEvent {
  return {
    type: `project.${verb}`,
    organizationId: row.organization_id,
    organizationPath: row.organization_path,
    actor: actor?.principal.userId ?? null,
    resource: { type: 'project', id: row.id },
    data: { name: row.name, ...data },
    requestId: actor?.requestId ?? null,
  };
}

/** The members of some projects, as they are now: a member whose resource is gone is not one. */
export async function membersOf(executor: Executor, projectIds: readonly string[]): Promise<Map<string, ProjectMember[]>> {
  const found = new Map<string, ProjectMember[]>(projectIds.map((id) => [id, []]));
  if (!projectIds.length) return found;
  for (const type of MEMBER_TYPES) {
    const { table, status }: { table: string; status: string } = MEMBER_TABLES[type];
    // The table varies by type: the query is typed by its result below.
    const rows = await (executor as unknown as Kysely<Record<string, Record<string, string>>>)
      .selectFrom('project_members')
      .innerJoin(table, `${table}.id`, 'project_members.resource_id')
      .select(['project_members.project_id as project_id', `${table}.id as id`, `${table}.name as name`, `${table}.${status} as status`])
      .where('project_members.resource_type', '=', type)
      .where('project_members.project_id', 'in', projectIds)
      .orderBy(`${table}.name`)
      .execute();
    for (const row of rows as { project_id: string; id: string; name: string; status: string }[]) found.get(row.project_id)!.push({ type, id: row.id, name: row.name, status: row.status });
  }
  return found;
}

export function newProjectRow(organization: { id: string; path: string }, name: string, id = newId()): ProjectRow {
  const now = nowIso();
  return { id, organization_id: organization.id, organization_path: organization.path, name: name.trim(), revision: 1, created_at: now, updated_at: now };
}

export type ProjectService = ReturnType<typeof createProjectService>;

/**
 * Projects: named groupings of an organization's apps, servers, volumes and images (what
 * ComputeStacks calls a project). A project of another organization is a 404; a resource joins
 * a project of its own organization only, and is in one project at most (adding it elsewhere moves it).
 */
export function createProjectService(deps: { store: Store; events: EventService; apps: Pick<AppService, 'beginDelete'> }) {
  const { store, events, apps } = deps;
  const { db } = store;

  const visible = (actor: Actor, executor: Executor = db) => executor.selectFrom('projects').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string, executor: Executor = db): Promise<ProjectRow> {
    const row = isUuid(id) ? await visible(actor, executor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('project', 'No project matches the given query.');
    return row;
  }

  async function describe(rows: ProjectRow[], executor: Executor = db): Promise<Project[]> {
    const members = await membersOf(executor, rows.map((r) => r.id));
    return rows.map((row) => {
      const own = members.get(row.id)!;
      return { id: row.id, name: row.name, organization_id: row.organization_id, state: projectState(own), members: own, revision: Number(row.revision), created_at: row.created_at, updated_at: row.updated_at };
    });
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Project>> {
    assertAllowed(actor, 'project:read');
    const result = await runList<ProjectRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await describe(result.items) } as ListResult<Project>;
  }

  async function get(actor: Actor, id: string): Promise<Project> {
    assertAllowed(actor, 'project:read');
    return (await describe([await findVisible(actor, id)]))[0]!;
  }

  async function create(actor: Actor, input: { name?: string }): Promise<Project> {
    assertAllowed(actor, 'project:write');
    const errors: FieldErrors = {};
    checkProjectName(errors, 'name', input.name);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const row = newProjectRow({ id: actor.organizationId, path: actor.organizationPath }, input.name!);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('projects').values(row).execute();
      await events.record(trx, projectEvent(row, 'created', actor));
    });
    return (await describe([row]))[0]!;
  }

  /** Applies `changes` if nobody changed the project since `current` was read, with `event` in the same transaction. */
  async function change(trx: Executor, actor: Actor, current: ProjectRow, changes: Partial<ProjectRow>, event: { verb: string; data: Record<string, unknown> }): Promise<ProjectRow> {
    const next = { ...current, ...changes, revision: Number(current.revision) + 1, updated_at: nowIso() };
    const result = await trx.updateTable('projects').set({ ...changes, revision: next.revision, updated_at: next.updated_at }).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The project was changed by another request; read it again and retry.');
    await events.record(trx, projectEvent(next, event.verb, actor, event.data));
    return next;
  }

  /** A new name (PATCH/PUT); `expectedRevision` is If-Match. */
  async function update(actor: Actor, id: string, input: { name?: string }, options: { expectedRevision?: number } = {}): Promise<Project> {
    assertAllowed(actor, 'project:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== Number(current.revision)) throw new PreconditionFailed();
    const errors: FieldErrors = {};
    if (input.name !== undefined) checkProjectName(errors, 'name', input.name);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    if (input.name === undefined || input.name.trim() === current.name) return (await describe([current]))[0]!;
    const next = await db.transaction().execute((trx) => change(trx, actor, current, { name: input.name!.trim() }, { verb: 'renamed', data: { old_name: current.name } }));
    return (await describe([next]))[0]!;
  }

  /**
   * Deletes a project. One that holds anything is refused unless `cascade`: then its apps are
   * deleted (each by its own task, enqueued in the same transaction) while its servers, volumes
   * and images, which hold data, are kept and simply leave the project.
   */
  async function remove(actor: Actor, id: string, options: { cascade?: boolean; expectedRevision?: number } = {}): Promise<void> {
    assertAllowed(actor, 'project:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== Number(current.revision)) throw new PreconditionFailed();
    await db.transaction().execute(async (trx) => {
      const members = (await membersOf(trx, [current.id])).get(current.id)!;
      if (members.length && !options.cascade) {
        const counts = MEMBER_TYPES.map((type) => [type, members.filter((m) => m.type === type).length] as const).filter(([, n]) => n > 0);
        const held = counts.map(([type, n]) => `${n} ${type}${n > 1 ? 's' : ''}`).join(', ');
        throw new Conflict(`The project holds ${held}: move or delete them first, or delete it with cascade (its apps are deleted; servers, volumes and images are kept).`, 'project_not_empty');
      }
      const ownApps = members.filter((m) => m.type === 'app');
      if (ownApps.length) assertAllowed(actor, 'app:write');
      for (const member of ownApps) {
        if (member.status === 'deleting') continue;
        const app = await trx.selectFrom('apps').selectAll().where('id', '=', member.id).executeTakeFirstOrThrow();
        await apps.beginDelete(trx, actor, app);
      }
      const deleted = await trx.deleteFrom('projects').where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw new PreconditionFailed('The project was changed by another request; read it again and retry.');
      await events.record(trx, projectEvent(current, 'deleted', actor, { deleted_apps: ownApps.map((m) => m.id) }));
    });
  }

  /** The resource `type`/`id` of the project's organization, or a field error. */
  async function findResource(executor: Executor, project: ProjectRow, type: unknown, id: unknown): Promise<{ type: ProjectMemberType; id: string; name: string }> {
    if (typeof type !== 'string' || !(MEMBER_TYPES as readonly string[]).includes(type)) throw ValidationFailed.field('type', `"${String(type ?? '')}" is not a valid choice. Choose from: ${MEMBER_TYPES.join(', ')}.`);
    const memberType = type as ProjectMemberType;
    const { table } = MEMBER_TABLES[memberType];
    const row = typeof id === 'string' && isUuid(id)
      ? await executor.selectFrom(table).select(['id', 'name']).where('id', '=', id).where('organization_id', '=', project.organization_id).executeTakeFirst()
      : undefined;
    if (!row) throw ValidationFailed.field('id', `No ${type} of the project's organization matches this id.`);
    return { type: memberType, id: row.id, name: row.name };
  }

  /** Puts a resource of the project's organization in the project (taking it out of any other). */
  async function addMember(actor: Actor, id: string, input: { type?: string; id?: string }): Promise<ProjectMember> {
    assertAllowed(actor, 'project:write');
    const project = await findVisible(actor, id);
    if (typeof input.type === 'string' && (MEMBER_TYPES as readonly string[]).includes(input.type)) assertAllowed(actor, `${input.type}:read`);
    const resource = await findResource(db, project, input.type, input.id);
    await db.transaction().execute(async (trx) => {
      const previous = await trx.selectFrom('project_members').select('project_id').where('resource_type', '=', resource.type).where('resource_id', '=', resource.id).executeTakeFirst();
      if (previous?.project_id === project.id) return;
      await trx.deleteFrom('project_members').where('resource_type', '=', resource.type).where('resource_id', '=', resource.id).execute();
      await trx.insertInto('project_members').values({ resource_type: resource.type, resource_id: resource.id, project_id: project.id, created_at: nowIso() }).execute();
      await change(trx, actor, project, {}, { verb: 'member_added', data: { type: resource.type, id: resource.id, from_project: previous?.project_id ?? null } });
    });
    return (await membersOf(db, [project.id])).get(project.id)!.find((m) => m.type === resource.type && m.id === resource.id)!;
  }

  async function removeMember(actor: Actor, id: string, type: string, resourceId: string): Promise<void> {
    assertAllowed(actor, 'project:write');
    const project = await findVisible(actor, id);
    await db.transaction().execute(async (trx) => {
      const removed = await trx.deleteFrom('project_members').where('project_id', '=', project.id).where('resource_type', '=', type as ProjectMemberType).where('resource_id', '=', resourceId).executeTakeFirst();
      if (Number(removed.numDeletedRows) !== 1) throw new NotFound('project_member', 'The project has no such member.');
      await change(trx, actor, project, {}, { verb: 'member_removed', data: { type, id: resourceId } });
    });
  }

  /** The project's events and its members' (events of resources now in it), newest first. */
  async function history(actor: Actor, id: string, request: ListRequest) {
    assertAllowed(actor, 'project:read');
    const project = await findVisible(actor, id);
    const members = (await membersOf(db, [project.id])).get(project.id)!;
    return events.list(actor, request, { resourceIds: [project.id, ...members.map((m) => m.id)] });
  }

  return { list, get, create, update, remove, addMember, removeMember, history, findVisible, describe };
}
