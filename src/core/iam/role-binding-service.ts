import type { Kysely } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { Database, RoleBindingRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, PermissionDenied, ValidationFailed } from '../errors.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { AccessService } from './access-service.ts';
import { isRoleName, ROLE_NAMES } from './roles.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';

export interface RoleBinding {
  id: string;
  userId: string;
  organizationId: string;
  role: string;
  createdAt: string;
}

export interface RoleBindingInput {
  userId?: string;
  organizationId?: string;
  role?: string;
}

const listSpec: ListSpec = {
  filters: { user: uuidFilter('user_id', 'user'), organization: uuidFilter('organization_id', 'organization'), role: (query, value) => query.where('role', '=', value) },
  searchColumns: ['role'],
  orderings: { created_at: 'created_at', role: 'role' },
  defaultOrdering: 'created_at',
  idColumn: 'id',
};

const toBinding = (row: RoleBindingRow): RoleBinding => ({ id: row.id, userId: row.user_id, organizationId: row.organization_id, role: row.role, createdAt: row.created_at });

export type RoleBindingService = ReturnType<typeof createRoleBindingService>;

/** Users' roles in organizations (`/api/iam/role-bindings/`); a role applies to the whole subtree. */
export function createRoleBindingService({ store, access, audit }: { store: Pick<Store, 'db'>; access: AccessService; audit: AuditService }) {
  const { db } = store;
  const subtree = (actor: Actor) => organizationIdsUnder(db, actor.organizationPath);
  const visible = (actor: Actor) => db.selectFrom('role_bindings').selectAll().where('organization_id', 'in', subtree(actor));

  async function find(actor: Actor, id: string): Promise<RoleBindingRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('role_binding', 'No role binding matches the given query.');
    return row;
  }

  function checkRole(role: string | undefined): string {
    if (role === undefined) throw ValidationFailed.field('role', 'This field is required.');
    if (!isRoleName(role)) throw ValidationFailed.field('role', `"${role}" is not a valid choice. Choose from: ${ROLE_NAMES.join(', ')}.`);
    return role;
  }

  /**
   * Setting a role, by any path (role bindings, a user's `role` field), needs `role:write`; only
   * owners grant or take away the owner role.
   */
  function assertMayGrant(actor: Actor, ...roles: (string | null | undefined)[]): void {
    assertAllowed(actor, 'role:write');
    if (roles.includes('owner')) assertAllowed(actor, 'role:assign_owner');
  }

  /** Whether this credential could grant `role` in the organization (what the role-bindings endpoint would allow). */
  async function couldGrant(actor: Actor, organizationId: string, role: string): Promise<boolean> {
    const permissions = await access.permissionsAt(actor.principal, organizationId);
    return permissions.has('role:write') && (role !== 'owner' || permissions.has('role:assign_owner'));
  }

  /**
   * Gives a user a role in an organization, replacing the one it had there. `executor` lets the
   * user service do it in the transaction that creates the user.
   */
  async function bind(actor: Actor, executor: Kysely<Database>, userId: string, organizationId: string, role: string): Promise<RoleBinding> {
    assertMayGrant(actor, role);
    const existing = await executor.selectFrom('role_bindings').selectAll().where('user_id', '=', userId).where('organization_id', '=', organizationId).executeTakeFirst();
    assertMayGrant(actor, existing?.role);
    let row: RoleBindingRow;
    if (existing) {
      await executor.updateTable('role_bindings').set({ role }).where('id', '=', existing.id).execute();
      row = { ...existing, role };
    } else {
      row = { id: newId(), user_id: userId, organization_id: organizationId, role, created_at: nowIso() };
      await executor.insertInto('role_bindings').values(row).execute();
    }
    if (existing?.role !== role) {
      await audit.recordFor(actor, { action: 'role_changed', targetType: 'user', targetId: userId, detail: { organization: organizationId, from: existing?.role ?? null, to: role } }, executor);
    }
    access.forgetUser(userId);
    return toBinding(row);
  }

  /**
   * Managing someone else's account (its password, credentials, tokens, profile, activation)
   * amounts to holding its roles. So it needs, with this credential, the right to grant every
   * role the user holds, in every organization of the tree where it holds one: a
   * sub-organization's admin cannot take over a user who is also an admin of the parent.
   * Superusers are managed by superusers only.
   */
  async function assertMayManage(actor: Actor, userId: string): Promise<void> {
    if (actor.principal.userId === userId) return;
    const user = await db.selectFrom('users').select('is_superuser').where('id', '=', userId).executeTakeFirst();
    if (user?.is_superuser && !actor.principal.isSuperuser) throw new PermissionDenied('Only a superuser can manage a superuser.', 'permission_denied');
    const bindings = await db.selectFrom('role_bindings').select(['organization_id', 'role']).where('user_id', '=', userId).execute();
    for (const binding of bindings) {
      if (!(await couldGrant(actor, binding.organization_id, binding.role))) {
        throw new PermissionDenied(`This user holds a role you could not grant (${binding.role}): only someone who could grant it manages this account.`, 'permission_denied');
      }
    }
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<RoleBinding>> {
    assertAllowed(actor, 'role:read');
    const result = await runList<RoleBindingRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toBinding) } as ListResult<RoleBinding>;
  }

  async function get(actor: Actor, id: string): Promise<RoleBinding> {
    assertAllowed(actor, 'role:read');
    return toBinding(await find(actor, id));
  }

  /**
   * The organization must be in the acting subtree; the user may live there or in the caller's
   * own organization's subtree (a parent organization's people granted a role below).
   */
  async function create(actor: Actor, input: RoleBindingInput): Promise<RoleBinding> {
    assertAllowed(actor, 'role:write');
    const role = checkRole(input.role);
    const organizationId = input.organizationId ?? actor.organizationId;
    const organization = isUuid(organizationId) ? await subtree(actor).where('id', '=', organizationId).executeTakeFirst() : undefined;
    if (!organization) throw ValidationFailed.field('organizationId', `Invalid pk "${organizationId}" - object does not exist.`);
    if (input.userId === undefined) throw ValidationFailed.field('userId', 'This field is required.');
    const user = isUuid(input.userId)
      ? await db
          .selectFrom('users')
          .innerJoin('organizations', 'organizations.id', 'users.organization_id')
          .select('users.id')
          .where('users.id', '=', input.userId)
          .where((eb) => eb.or([eb('organizations.path', 'like', `${actor.organizationPath}%`), eb('organizations.path', 'like', `${actor.principal.organizationPath}%`)]))
          .executeTakeFirst()
      : undefined;
    if (!user) throw ValidationFailed.field('userId', `Invalid pk "${input.userId}" - object does not exist.`);
    return db.transaction().execute((trx) => bind(actor, trx, user.id, organization.id, role));
  }

  async function update(actor: Actor, id: string, input: RoleBindingInput): Promise<RoleBinding> {
    assertAllowed(actor, 'role:write');
    const current = await find(actor, id);
    const role = checkRole(input.role);
    return db.transaction().execute((trx) => bind(actor, trx, current.user_id, current.organization_id, role));
  }

  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'role:write');
    const current = await find(actor, id);
    assertMayGrant(actor, current.role);
    await db.deleteFrom('role_bindings').where('id', '=', current.id).execute();
    await audit.recordFor(actor, { action: 'role_changed', targetType: 'user', targetId: current.user_id, detail: { organization: current.organization_id, from: current.role, to: null } });
    access.forgetUser(current.user_id);
  }

  return { assertMayGrant, bind, assertMayManage, list, get, create, update, remove };
}
