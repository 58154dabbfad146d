import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { OrganizationRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService, NewEvent } from '../events/event-service.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { AccessService } from '../iam/access-service.ts';
import type { QuotaService } from '../quotas/quota-service.ts';
import { deleteOwnedRecords, movePathCopies, resourcesBlockingDeletion } from './owned-records.ts';

export interface Organization {
  id: string;
  name: string;
  slug: string;
  parentId: string | null;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface OrganizationInput {
  name?: string;
  slug?: string;
  parentId?: string | null;
}

/** `expectedRevision` comes from `If-Match`: the change applies only to that revision. */
export interface WriteOptions {
  expectedRevision?: number;
}

const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const NAME_MAX = 100;
const SLUG_MAX = 63;

const listSpec: ListSpec = {
  filters: {
    parent: uuidFilter('parent_id', 'parent'),
    slug: (query, value) => query.where('slug', '=', value),
    name: (query, value) => query.where('name', '=', value),
  },
  searchColumns: ['name', 'slug'],
  orderings: { name: 'name', slug: 'slug', created_at: 'created_at', updated_at: 'updated_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

/** What an organization shows: everything but its materialized path, which stays internal. */
const ORGANIZATION_FIELDS = ['id', 'name', 'slug', 'parent_id', 'revision', 'created_at', 'updated_at'] as const;
type OrganizationFields = Omit<OrganizationRow, 'path'>;

export function toOrganization(row: OrganizationFields): Organization {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    parentId: row.parent_id,
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function slugify(name: string): string {
  const slug = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, SLUG_MAX - 9);
  return slug.replace(/-+$/g, '') || 'org';
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;

/** The event recording a change to an organization, visible from the organization and above. */
function organizationEvent(actor: Actor, verb: 'created' | 'updated' | 'deleted', row: OrganizationRow): NewEvent {
  return {
    type: `organization.${verb}`,
    organizationId: row.id,
    organizationPath: row.path,
    actor: actor.principal.userId,
    resource: { type: 'organization', id: row.id },
    data: { name: row.name, slug: row.slug, parent: row.parent_id },
    requestId: actor.requestId,
  };
}

/** Organizations form a tree; an actor sees its acting organization and everything below it. */
export function createOrganizationService({
  store,
  events,
  access,
  quotas,
}: {
  store: Pick<Store, 'db'>;
  events: Pick<EventService, 'record'>;
  access: Pick<AccessService, 'forgetOrganizationPaths'>;
  quotas: Pick<QuotaService, 'admitMovedSubtree'>;
}) {
  const { db } = store;

  const inSubtree = (actor: Actor) => db.selectFrom('organizations').where('path', 'like', `${actor.organizationPath}%`);
  const visible = (actor: Actor) => inSubtree(actor).selectAll();

  async function findVisible(actor: Actor, id: string): Promise<OrganizationRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('organization', 'No organization matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Organization>> {
    assertAllowed(actor, 'organization:read');
    const result = await runList<OrganizationFields>(db, inSubtree(actor).select(ORGANIZATION_FIELDS), listSpec, request);
    return { ...result, items: result.items.map(toOrganization) } as ListResult<Organization>;
  }

  async function get(actor: Actor, id: string): Promise<Organization> {
    assertAllowed(actor, 'organization:read');
    return toOrganization(await findVisible(actor, id));
  }

  function validateFields(input: OrganizationInput, { partial }: { partial: boolean }): FieldErrors {
    const errors: FieldErrors = {};
    if (input.name === undefined) {
      if (!partial) errors.name = ['This field is required.'];
    } else if (input.name.trim() === '') errors.name = ['This field may not be blank.'];
    else if (input.name.length > NAME_MAX) errors.name = [`Ensure this field has no more than ${NAME_MAX} characters.`];
    if (input.slug !== undefined) {
      if (input.slug.length > SLUG_MAX) errors.slug = [`Ensure this field has no more than ${SLUG_MAX} characters.`];
      else if (!SLUG_PATTERN.test(input.slug)) {
        errors.slug = ['Enter a valid "slug" consisting of lowercase letters, numbers or hyphens, not starting or ending with a hyphen.'];
      }
    }
    return errors;
  }

  /** The new parent must be visible, and must not be the organization itself or below it. */
  async function resolveParent(actor: Actor, parentId: string | null | undefined, moving?: OrganizationRow): Promise<OrganizationRow> {
    if (parentId === null) throw ValidationFailed.field('parentId', 'An organization must have a parent within your organization.');
    const id = parentId ?? actor.organizationId;
    const parent = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!parent) throw ValidationFailed.field('parentId', `Invalid pk "${id}" - object does not exist.`);
    if (moving && parent.path.startsWith(moving.path)) {
      throw ValidationFailed.field('parentId', 'An organization cannot be moved under itself or one of its sub-organizations.');
    }
    return parent;
  }

  async function create(actor: Actor, input: OrganizationInput): Promise<Organization> {
    assertAllowed(actor, 'organization:write');
    const errors = validateFields(input, { partial: false });
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const parent = await resolveParent(actor, input.parentId);
    const id = newId();
    const now = nowIso();
    const row: OrganizationRow = {
      id,
      name: input.name!.trim(),
      slug: input.slug ?? `${slugify(input.name!)}-${id.slice(0, 8)}`,
      parent_id: parent.id,
      path: `${parent.path}${id}/`,
      revision: 1,
      created_at: now,
      updated_at: now,
    };
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('organizations').values(row).execute();
        await events.record(trx, organizationEvent(actor, 'created', row));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw ValidationFailed.field('slug', 'organization with this slug already exists.');
      throw error;
    }
    return toOrganization(row);
  }

  async function update(actor: Actor, id: string, input: OrganizationInput, options: WriteOptions & { partial: boolean }): Promise<Organization> {
    assertAllowed(actor, 'organization:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const errors = validateFields(input, options);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);

    const moving = input.parentId !== undefined && input.parentId !== current.parent_id;
    if (moving && current.id === actor.organizationId) {
      throw ValidationFailed.field('parentId', 'The organization you are acting in cannot be moved.');
    }
    const parent = moving ? await resolveParent(actor, input.parentId, current) : null;
    const changes = {
      name: input.name?.trim() ?? current.name,
      slug: input.slug ?? current.slug,
      parent_id: parent ? parent.id : current.parent_id,
      path: parent ? `${parent.path}${current.id}/` : current.path,
      updated_at: nowIso(),
      revision: current.revision + 1,
    };
    try {
      await db.transaction().execute(async (trx) => {
        // Optimistic concurrency: the row changes only if nobody changed it since it was read.
        const result = await trx
          .updateTable('organizations')
          .set(changes)
          .where('id', '=', current.id)
          .where('revision', '=', current.revision)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The organization was changed by another request; read it again and retry.');
        if (parent) {
          // Re-root every descendant's materialized path under the new location.
          const descendants = await trx.selectFrom('organizations').select(['id', 'path']).where('path', 'like', `${current.path}_%`).execute();
          for (const d of descendants) {
            await trx.updateTable('organizations').set({ path: changes.path + d.path.slice(current.path.length) }).where('id', '=', d.id).execute();
          }
          // Tasks, events, servers... carry the path too: they move with the subtree.
          await movePathCopies(trx, current.path, changes.path);
          // What the subtree holds now counts toward its new ancestors' quotas.
          await quotas.admitMovedSubtree(trx, current.id, current.path.slice(0, -`${current.id}/`.length));
        }
        await events.record(trx, organizationEvent(actor, 'updated', { ...current, ...changes }));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw ValidationFailed.field('slug', 'organization with this slug already exists.');
      throw error;
    }
    // This replica sees the move at once; the others within their caches' lifetime.
    if (parent) access.forgetOrganizationPaths();
    return toOrganization({ ...current, ...changes });
  }

  async function remove(actor: Actor, id: string, options: WriteOptions = {}): Promise<void> {
    assertAllowed(actor, 'organization:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    if (current.id === actor.organizationId) throw new Conflict('You cannot delete the organization you are acting in.', 'organization_in_use');
    await db.transaction().execute(async (trx) => {
      const children = await trx.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).where('parent_id', '=', current.id).executeTakeFirstOrThrow();
      if (children.n > 0) {
        throw new Conflict(`Organization "${current.name}" has ${children.n} sub-organization(s); delete or move them first.`, 'organization_has_children');
      }
      const users = await trx.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', '=', current.id).executeTakeFirstOrThrow();
      if (users.n > 0) throw new Conflict(`Organization "${current.name}" still has ${users.n} user(s); remove them first.`, 'organization_has_users');
      const resources = await resourcesBlockingDeletion(trx, current.id);
      if (resources.length) throw new Conflict(`Organization "${current.name}" still has ${resources.join(', ')}; delete them first.`, 'organization_has_resources');
      await deleteOwnedRecords(trx, current.id);
      await trx.deleteFrom('api_tokens').where('organization_id', '=', current.id).execute();
      const deleted = await trx.deleteFrom('organizations').where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw new PreconditionFailed('The organization was changed by another request; read it again and retry.');
      await events.record(trx, organizationEvent(actor, 'deleted', current));
    });
  }

  return { list, get, create, update, remove };
}
