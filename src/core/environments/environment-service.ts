import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { EnvironmentMemberRow, EnvironmentRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService, NewEvent } from '../events/event-service.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';
import type { ServiceConnectionService } from './service-connections.ts';

export interface Environment {
  id: string;
  name: string;
  description: string;
  organizationId: string;
  organizationName: string;
  organizationSlug: string;
  serviceConnectionId: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface EnvironmentInput {
  name?: string;
  description?: string;
  organizationId?: string;
  serviceConnectionId?: string;
}

export interface EnvironmentMember {
  id: string;
  environmentId: string;
  userId: string;
  username: string;
  role: string;
  createdAt: string;
}

/**
 * What a member does in an environment. Access to its resources comes from organization roles
 * (the same RBAC everywhere); the environment role says who is who on the project.
 */
export const ENVIRONMENT_ROLES: Record<string, string> = {
  owner: 'Runs the environment and decides who works in it.',
  editor: 'Builds and changes the environment’s resources.',
  viewer: 'Follows the environment’s resources.',
};
export const ENVIRONMENT_ROLE_NAMES = Object.keys(ENVIRONMENT_ROLES);

const NAME_PATTERN = /^[a-z0-9_-]+$/;
const NAME_MAX = 100;
const DESCRIPTION_MAX = 500;

const listSpec: ListSpec = {
  filters: {
    name: (query, value) => query.where('environments.name', '=', value),
    organization: uuidFilter('environments.organization_id', 'organization'),
    service_connection: uuidFilter('environments.service_connection_id', 'service_connection'),
  },
  searchColumns: ['environments.name', 'environments.description'],
  orderings: { name: 'environments.name', created_at: 'environments.created_at' },
  defaultOrdering: 'name',
  idColumn: 'environments.id',
};

const memberListSpec: ListSpec = {
  filters: { role: (query, value) => query.where('environment_members.role', '=', value) },
  searchColumns: ['users.username'],
  orderings: { created_at: 'environment_members.created_at', username: 'users.username' },
  defaultOrdering: 'created_at',
  idColumn: 'environment_members.id',
};

type EnvironmentWithOrganization = EnvironmentRow & { organization_name: string; organization_slug: string };

function toEnvironment(row: EnvironmentWithOrganization): Environment {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
    organizationSlug: row.organization_slug,
    serviceConnectionId: row.service_connection_id,
    revision: Number(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const toMember = (row: EnvironmentMemberRow & { username: string }): EnvironmentMember => ({
  id: row.id,
  environmentId: row.environment_id,
  userId: row.user_id,
  username: row.username,
  role: row.role,
  createdAt: row.created_at,
});

function environmentEvent(actor: Actor, verb: string, row: EnvironmentRow, data: Record<string, unknown> = {}): NewEvent {
  return {
    type: `environment.${verb}`,
    organizationId: row.organization_id,
    organizationPath: row.organization_path,
    actor: actor.principal.userId,
    resource: { type: 'environment', id: row.id },
    data: { name: row.name, ...data },
    requestId: actor.requestId,
  };
}

export type EnvironmentService = ReturnType<typeof createEnvironmentService>;

/** Environments of the acting subtree, and the people working in them. */
export function createEnvironmentService({ store, events, connections }: { store: Pick<Store, 'db'>; events: Pick<EventService, 'record'>; connections: ServiceConnectionService }) {
  const { db } = store;

  const visible = (actor: Actor) =>
    db
      .selectFrom('environments')
      .innerJoin('organizations', 'organizations.id', 'environments.organization_id')
      .selectAll('environments')
      .select(['organizations.name as organization_name', 'organizations.slug as organization_slug'])
      .where('environments.organization_path', 'like', `${actor.organizationPath}%`);

  async function find(actor: Actor, id: string): Promise<EnvironmentWithOrganization> {
    const row = isUuid(id) ? await visible(actor).where('environments.id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('environment', 'No environment matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Environment>> {
    assertAllowed(actor, 'environment:read');
    const result = await runList<EnvironmentWithOrganization>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toEnvironment) } as ListResult<Environment>;
  }

  async function get(actor: Actor, id: string): Promise<Environment> {
    assertAllowed(actor, 'environment:read');
    return toEnvironment(await find(actor, id));
  }

  /**
   * The environment named `name` of the acting organization (not its sub-organizations: names
   * are unique per organization) on the connection `connectionCode` names. Resources made
   * through it belong to it.
   */
  async function findByName(actor: Actor, connectionCode: string, name: string): Promise<Environment> {
    assertAllowed(actor, 'environment:read');
    const connection = connections.byCode(connectionCode);
    const row = await visible(actor).where('environments.organization_id', '=', actor.organizationId).where('environments.name', '=', name).where('environments.service_connection_id', '=', connection.id).executeTakeFirst();
    if (!row) throw new NotFound('environment', `No environment "${name}" on the "${connectionCode}" service in this organization.`);
    return toEnvironment(row);
  }

  function validateFields(input: EnvironmentInput, partial: boolean): FieldErrors {
    const errors: FieldErrors = {};
    if (input.name === undefined) {
      if (!partial) errors.name = ['This field is required.'];
    } else if (input.name === '') errors.name = ['This field may not be blank.'];
    else if (input.name.length > NAME_MAX) errors.name = [`Ensure this field has no more than ${NAME_MAX} characters.`];
    else if (!NAME_PATTERN.test(input.name)) errors.name = ['Use only lowercase letters, digits, dashes and underscores.'];
    if (input.description !== undefined && input.description.length > DESCRIPTION_MAX) errors.description = [`Ensure this field has no more than ${DESCRIPTION_MAX} characters.`];
    return errors;
  }

  function nameTaken(error: unknown): never {
    if (isUniqueViolation(error)) throw ValidationFailed.field('name', 'An environment with this name already exists in the organization.');
    throw error;
  }

  /** In the acting organization or one below it; the creator becomes its owner member. */
  async function create(actor: Actor, input: EnvironmentInput): Promise<Environment> {
    assertAllowed(actor, 'environment:write');
    const errors = validateFields(input, false);
    if (input.serviceConnectionId === undefined) errors.serviceConnectionId = ['This field is required.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const connection = connections.resolve(input.serviceConnectionId, 'serviceConnectionId');
    const organizationId = input.organizationId ?? actor.organizationId;
    const organization = isUuid(organizationId)
      ? await db.selectFrom('organizations').select(['id', 'name', 'slug', 'path']).where('path', 'like', `${actor.organizationPath}%`).where('id', '=', organizationId).executeTakeFirst()
      : undefined;
    if (!organization) throw ValidationFailed.field('organizationId', `Invalid pk "${organizationId}" - object does not exist.`);
    const now = nowIso();
    const row: EnvironmentRow = {
      id: newId(),
      organization_id: organization.id,
      organization_path: organization.path,
      name: input.name!,
      description: input.description ?? '',
      service_connection_id: connection.id,
      revision: 1,
      created_at: now,
      updated_at: now,
    };
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('environments').values(row).execute();
        await trx.insertInto('environment_members').values({ id: newId(), environment_id: row.id, user_id: actor.principal.userId, role: 'owner', created_at: now }).execute();
        await events.record(trx, environmentEvent(actor, 'created', row, { service_connection: connection.id }));
      });
    } catch (error) {
      nameTaken(error);
    }
    return toEnvironment({ ...row, organization_name: organization.name, organization_slug: organization.slug });
  }

  async function update(actor: Actor, id: string, input: EnvironmentInput, options: { partial: boolean; expectedRevision?: number }): Promise<Environment> {
    assertAllowed(actor, 'environment:write');
    const current = await find(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== Number(current.revision)) throw new PreconditionFailed();
    const errors = validateFields(input, options.partial);
    if (input.serviceConnectionId !== undefined && input.serviceConnectionId !== current.service_connection_id) errors.serviceConnectionId = ['An environment stays on the service connection it was made on.'];
    if (input.organizationId !== undefined && input.organizationId !== current.organization_id) errors.organizationId = ['An environment cannot be moved to another organization.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const changes = {
      name: input.name ?? current.name,
      description: input.description ?? (options.partial ? current.description : ''),
      revision: Number(current.revision) + 1,
      updated_at: nowIso(),
    };
    try {
      await db.transaction().execute(async (trx) => {
        const result = await trx.updateTable('environments').set(changes).where('id', '=', current.id).where('revision', '=', Number(current.revision)).executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The environment was changed by another request; read it again and retry.');
        await events.record(trx, environmentEvent(actor, 'updated', { ...current, ...changes }));
      });
    } catch (error) {
      nameTaken(error);
    }
    return toEnvironment({ ...current, ...changes });
  }

  /** Refused while servers or volumes belong to it. */
  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'environment:write');
    const current = await find(actor, id);
    await db.transaction().execute(async (trx) => {
      const count = async (table: 'servers' | 'volumes') =>
        Number((await trx.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('environment_id', '=', current.id).executeTakeFirstOrThrow()).n);
      const [servers, volumes] = [await count('servers'), await count('volumes')];
      if (servers || volumes) throw new Conflict(`Environment "${current.name}" still has ${servers} server(s) and ${volumes} volume(s); delete them first.`, 'environment_has_resources');
      await trx.deleteFrom('environments').where('id', '=', current.id).execute();
      await events.record(trx, environmentEvent(actor, 'deleted', current));
    });
  }

  // --- Members ---

  const members = (environmentId: string) =>
    db.selectFrom('environment_members').innerJoin('users', 'users.id', 'environment_members.user_id').selectAll('environment_members').select('users.username').where('environment_members.environment_id', '=', environmentId);

  async function listMembers(actor: Actor, environmentId: string, request: ListRequest): Promise<ListResult<EnvironmentMember>> {
    assertAllowed(actor, 'environment:read');
    const environment = await find(actor, environmentId);
    const result = await runList<EnvironmentMemberRow & { username: string }>(db, members(environment.id), memberListSpec, request);
    return { ...result, items: result.items.map(toMember) } as ListResult<EnvironmentMember>;
  }

  /** Adds a user of the acting subtree, or changes the role of one already in. */
  async function addMember(actor: Actor, environmentId: string, input: { userId?: string; role?: string }): Promise<EnvironmentMember> {
    assertAllowed(actor, 'environment:write');
    const environment = await find(actor, environmentId);
    const errors: FieldErrors = {};
    if (input.userId === undefined) errors.userId = ['This field is required.'];
    if (input.role === undefined) errors.role = ['This field is required.'];
    else if (!ENVIRONMENT_ROLE_NAMES.includes(input.role)) errors.role = [`"${input.role}" is not a valid choice. Choose from: ${ENVIRONMENT_ROLE_NAMES.join(', ')}.`];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const user = isUuid(input.userId!)
      ? await db.selectFrom('users').select(['id', 'username']).where('id', '=', input.userId!).where('organization_id', 'in', organizationIdsUnder(db, actor.organizationPath)).executeTakeFirst()
      : undefined;
    if (!user) throw ValidationFailed.field('userId', `Invalid pk "${input.userId}" - object does not exist.`);
    const now = nowIso();
    await db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('environment_members').select('id').where('environment_id', '=', environment.id).where('user_id', '=', user.id).executeTakeFirst();
      if (existing) await trx.updateTable('environment_members').set({ role: input.role! }).where('id', '=', existing.id).execute();
      else await trx.insertInto('environment_members').values({ id: newId(), environment_id: environment.id, user_id: user.id, role: input.role!, created_at: now }).execute();
      await events.record(trx, environmentEvent(actor, 'member_changed', environment, { user: user.id, role: input.role }));
    });
    return toMember((await members(environment.id).where('environment_members.user_id', '=', user.id).executeTakeFirstOrThrow()));
  }

  async function removeMember(actor: Actor, environmentId: string, userId: string): Promise<void> {
    assertAllowed(actor, 'environment:write');
    const environment = await find(actor, environmentId);
    const member = isUuid(userId) ? await members(environment.id).where('environment_members.user_id', '=', userId).executeTakeFirst() : undefined;
    if (!member) throw new NotFound('environment_member', 'No member matches the given query.');
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('environment_members').where('id', '=', member.id).execute();
      await events.record(trx, environmentEvent(actor, 'member_changed', environment, { user: member.user_id, role: null }));
    });
  }

  /** The ids of the environments each organization has, for showing them with organizations. */
  async function idsByOrganization(organizationIds: string[]): Promise<Map<string, string[]>> {
    const rows = organizationIds.length ? await db.selectFrom('environments').select(['id', 'organization_id']).where('organization_id', 'in', organizationIds).orderBy('name').execute() : [];
    const byOrganization = new Map<string, string[]>();
    for (const row of rows) byOrganization.set(row.organization_id, [...(byOrganization.get(row.organization_id) ?? []), row.id]);
    return byOrganization;
  }

  return { list, get, findByName, create, update, remove, listMembers, addMember, removeMember, idsByOrganization };
}
