import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { GroupRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';

export interface Group {
  id: string;
  name: string;
  displayName: string;
  description: string;
  organizationId: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface GroupInput {
  name?: string;
  display_name?: string;
  description?: string;
}

const NAME_PATTERN = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;
const MAX = { name: 63, display_name: 100, description: 1000 } as const;

const listSpec: ListSpec = {
  filters: { name: (query, value) => query.where('name', '=', value) },
  searchColumns: ['name', 'display_name'],
  orderings: { name: 'name', created_at: 'created_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

export function toGroup(row: GroupRow): Group {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    description: row.description,
    organizationId: row.organization_id,
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type GroupService = ReturnType<typeof createGroupService>;

/** Groups of users inside an organization; whoever creates one is its first owner. */
export function createGroupService({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;
  const visible = (actor: Actor) =>
    db.selectFrom('groups').selectAll().where('organization_id', 'in', organizationIdsUnder(db, actor.organizationPath));

  async function find(actor: Actor, id: string): Promise<GroupRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('group', 'No group matches the given query.');
    return row;
  }

  function validate(input: GroupInput, partial: boolean): FieldErrors {
    const errors: FieldErrors = {};
    if (input.name === undefined) {
      if (!partial) errors.name = ['This field is required.'];
    } else if (input.name.length > MAX.name) errors.name = [`Ensure this field has no more than ${MAX.name} characters.`];
    else if (!NAME_PATTERN.test(input.name)) errors.name = ['Enter a valid name consisting of lowercase letters, numbers, hyphens or underscores.'];
    for (const field of ['display_name', 'description'] as const) {
      if ((input[field]?.length ?? 0) > MAX[field]) errors[field] = [`Ensure this field has no more than ${MAX[field]} characters.`];
    }
    return errors;
  }

  const nameTaken = (error: unknown): never => {
    if (isUniqueViolation(error)) throw ValidationFailed.field('name', 'group with this name already exists.');
    throw error;
  };

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Group>> {
    assertAllowed(actor, 'group:read');
    const result = await runList<GroupRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toGroup) } as ListResult<Group>;
  }

  async function get(actor: Actor, id: string): Promise<Group> {
    assertAllowed(actor, 'group:read');
    return toGroup(await find(actor, id));
  }

  async function create(actor: Actor, input: GroupInput): Promise<Group> {
    assertAllowed(actor, 'group:write');
    const errors = validate(input, false);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const now = nowIso();
    const row: GroupRow = {
      id: newId(),
      organization_id: actor.organizationId,
      name: input.name!,
      display_name: input.display_name ?? input.name!,
      description: input.description ?? '',
      revision: 1,
      created_at: now,
      updated_at: now,
    };
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('groups').values(row).execute();
        await trx.insertInto('group_memberships').values({ id: newId(), group_id: row.id, user_id: actor.principal.userId, role: 'owner', created_at: now, updated_at: now }).execute();
      });
    } catch (error) {
      nameTaken(error);
    }
    return toGroup(row);
  }

  async function update(actor: Actor, id: string, input: GroupInput, options: { partial: boolean; expectedRevision?: number }): Promise<Group> {
    assertAllowed(actor, 'group:write');
    const current = await find(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const errors = validate(input, options.partial);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const changes = {
      name: input.name ?? current.name,
      display_name: input.display_name ?? (options.partial ? current.display_name : (input.name ?? current.name)),
      description: input.description ?? (options.partial ? current.description : ''),
      revision: current.revision + 1,
      updated_at: nowIso(),
    };
    try {
      const result = await db.updateTable('groups').set(changes).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The group was changed by another request; read it again and retry.');
    } catch (error) {
      nameTaken(error);
    }
    return toGroup({ ...current, ...changes });
  }

  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'group:write');
    const current = await find(actor, id);
    await db.deleteFrom('groups').where('id', '=', current.id).execute();
  }

  return { list, get, create, update, remove, visible };
}
