import type { Kysely } from 'kysely';
import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { Database, GroupMembershipRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, ValidationFailed } from '../errors.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { GroupService } from './group-service.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';
import { goneUser, userSummaries, type UserSummary } from '../summaries.ts';

export const MEMBERSHIP_ROLES = ['owner', 'manager', 'member'] as const;

export const LAST_OWNER_MESSAGE = 'You are the only owner of the group. Add another owner to proceed.';

export interface Membership {
  id: string;
  groupId: string;
  userId: string;
  role: string;
  createdAt: string;
  updatedAt: string;
  groupName: string;
  user: UserSummary;
}

export interface MembershipInput {
  groupId?: string;
  userId?: string;
  role?: string;
}

const listSpec: ListSpec = {
  filters: { user: uuidFilter('user_id', 'user'), group: uuidFilter('group_id', 'group'), role: (query, value) => query.where('role', '=', value) },
  searchColumns: ['role'],
  orderings: { created_at: 'created_at', role: 'role' },
  defaultOrdering: 'created_at',
  idColumn: 'id',
};

const toMembership = (row: GroupMembershipRow, groupName: string, user: UserSummary): Membership => ({
  id: row.id,
  groupId: row.group_id,
  userId: row.user_id,
  role: row.role,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  groupName,
  user,
});

export type MembershipService = ReturnType<typeof createMembershipService>;

/** Who is in which group, as owner, manager or member. A group always keeps an owner. */
export function createMembershipService({ store, groups }: { store: Pick<Store, 'db'>; groups: GroupService }) {
  const { db } = store;
  const visible = (actor: Actor) => db.selectFrom('group_memberships').selectAll().where('group_id', 'in', groups.visible(actor).clearSelect().select('id'));

  async function find(actor: Actor, id: string): Promise<GroupMembershipRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('membership', 'No membership matches the given query.');
    return row;
  }

  function checkRole(role: string | undefined, required: boolean): void {
    if (role === undefined) {
      if (required) throw ValidationFailed.field('role', 'This field is required.');
      return;
    }
    if (!(MEMBERSHIP_ROLES as readonly string[]).includes(role)) {
      throw ValidationFailed.field('role', `"${role}" is not a valid choice. Choose from: ${MEMBERSHIP_ROLES.join(', ')}.`);
    }
  }

  /**
   * Runs a membership change that could remove an owner. Bumping the group's revision first
   * takes its row lock (PostgreSQL; SQLite has one writer), so two concurrent changes cannot
   * each remove "the other" owner; then the owner count is checked after the change.
   */
  async function keepingAnOwner(groupId: string, change: (trx: Kysely<Database>) => Promise<void>): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('groups').set((eb) => ({ revision: eb('revision', '+', 1), updated_at: nowIso() })).where('id', '=', groupId).execute();
      await change(trx);
      const { n } = await trx.selectFrom('group_memberships').select((eb) => eb.fn.countAll<number>().as('n')).where('group_id', '=', groupId).where('role', '=', 'owner').executeTakeFirstOrThrow();
      if (Number(n) === 0) throw new ValidationFailed({}, [LAST_OWNER_MESSAGE]);
    });
  }

  /** Memberships with their group's name and their user's summary. */
  async function shownTo(actor: Actor, rows: GroupMembershipRow[]): Promise<Membership[]> {
    const groupIds = [...new Set(rows.map((r) => r.group_id))];
    const [names, users] = await Promise.all([
      groupIds.length ? db.selectFrom('groups').select(['id', 'name']).where('id', 'in', groupIds).execute() : [],
      userSummaries(db, actor.organizationPath, rows.map((r) => r.user_id)),
    ]);
    const nameOf = new Map(names.map((g) => [g.id, g.name]));
    return rows.map((row) => toMembership(row, nameOf.get(row.group_id) ?? '', users.get(row.user_id) ?? goneUser(row.user_id)));
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Membership>> {
    assertAllowed(actor, 'membership:read');
    const result = await runList<GroupMembershipRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await shownTo(actor, result.items) } as ListResult<Membership>;
  }

  async function get(actor: Actor, id: string): Promise<Membership> {
    assertAllowed(actor, 'membership:read');
    return (await shownTo(actor, [await find(actor, id)]))[0]!;
  }

  async function create(actor: Actor, input: MembershipInput): Promise<Membership> {
    assertAllowed(actor, 'membership:write');
    checkRole(input.role ?? 'member', true);
    const fields: Record<string, string[]> = {};
    if (input.groupId === undefined) fields.groupId = ['This field is required.'];
    if (input.userId === undefined) fields.userId = ['This field is required.'];
    if (Object.keys(fields).length) throw new ValidationFailed(fields);
    const group = isUuid(input.groupId!) ? await groups.visible(actor).where('id', '=', input.groupId!).executeTakeFirst() : undefined;
    if (!group) throw ValidationFailed.field('groupId', `Invalid pk "${input.groupId}" - object does not exist.`);
    // A group's members come from the group's organization subtree.
    const user = isUuid(input.userId!)
      ? await db
          .selectFrom('users')
          .select('id')
          .where('id', '=', input.userId!)
          .where('organization_id', 'in', organizationIdsUnder(db, actor.organizationPath))
          .executeTakeFirst()
      : undefined;
    if (!user) throw ValidationFailed.field('userId', `Invalid pk "${input.userId}" - object does not exist.`);
    const now = nowIso();
    const row: GroupMembershipRow = { id: newId(), group_id: group.id, user_id: user.id, role: input.role ?? 'member', created_at: now, updated_at: now };
    try {
      await db.insertInto('group_memberships').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ValidationFailed({}, ['The fields group, user must make a unique set.']);
      throw error;
    }
    return (await shownTo(actor, [row]))[0]!;
  }

  async function update(actor: Actor, id: string, input: MembershipInput): Promise<Membership> {
    assertAllowed(actor, 'membership:write');
    const current = await find(actor, id);
    checkRole(input.role, false);
    if ((input.groupId !== undefined && input.groupId !== current.group_id) || (input.userId !== undefined && input.userId !== current.user_id)) {
      throw new ValidationFailed({}, ['A membership cannot move to another group or user; delete it and create another.']);
    }
    const role = input.role ?? current.role;
    const updatedAt = nowIso();
    await keepingAnOwner(current.group_id, async (trx) => {
      await trx.updateTable('group_memberships').set({ role, updated_at: updatedAt }).where('id', '=', current.id).execute();
    });
    return (await shownTo(actor, [{ ...current, role, updated_at: updatedAt }]))[0]!;
  }

  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'membership:write');
    const current = await find(actor, id);
    await keepingAnOwner(current.group_id, async (trx) => {
      await trx.deleteFrom('group_memberships').where('id', '=', current.id).execute();
    });
  }

  return { list, get, create, update, remove };
}
