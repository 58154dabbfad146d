import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { UserRow } from '../../store/schema.ts';
import { assertAllowed, assertScope, type Actor } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, NotFound, PermissionDenied, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { RoleBindingService } from '../iam/role-binding-service.ts';
import { isRoleName, ROLE_NAMES } from '../iam/roles.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { QuotaService } from '../quotas/quota-service.ts';
import type { TokenService } from '../tokens/token-service.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { validatePassword } from './password-validation.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';

export interface User {
  id: string;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  isActive: boolean;
  isStaff: boolean;
  isSuperuser: boolean;
  organizationId: string;
  /** The user's role in its own organization; null when it has none there. */
  role: string | null;
  revision: number;
  createdAt: string;
  updatedAt: string;
  lastLogin: string | null;
}

/** A user's fields as a create or an update gives them; a field left undefined is not given. */
export interface UserInput {
  username?: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  password?: string;
  isActive?: boolean;
  isStaff?: boolean;
  isSuperuser?: boolean;
  organizationId?: string;
  role?: string;
}

export interface PasswordChange {
  oldPassword?: string;
  password?: string;
}

/** What people change about themselves (self-service, `profile:write`). */
const PROFILE_FIELDS = ['email', 'firstName', 'lastName', 'username'] as const;

/** The current user in `/api/iam/users/-/`. */
export const SELF = '-';

const USERNAME_PATTERN = /^[\p{L}\p{N}_@.+-]+$/u;
/** What an email address must look like: users' and app invitations'. */
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX = { username: 150, email: 254, firstName: 150, lastName: 150 } as const;

const listSpec: ListSpec = {
  filters: {
    username: (query, value) => query.where('users.username', '=', value),
    email: (query, value) => query.where('users.email', '=', value),
    is_active: (query, value) => query.where('users.is_active', '=', value === 'true' ? 1 : 0),
    organization: uuidFilter('users.organization_id', 'organization'),
  },
  searchColumns: ['users.username', 'users.email', 'users.first_name', 'users.last_name'],
  orderings: { username: 'username', created_at: 'created_at' },
  defaultOrdering: 'username',
  idColumn: 'id',
};

type UserWithRole = UserRow & { role: string | null };

function toUser(row: UserWithRole): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    isActive: row.is_active === 1,
    isStaff: row.is_staff === 1,
    isSuperuser: row.is_superuser === 1,
    organizationId: row.organization_id,
    role: row.role,
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLogin: row.last_login,
  };
}

export type UserService = ReturnType<typeof createUserService>;

export function createUserService(deps: { store: Pick<Store, 'db'>; audit: AuditService; roleBindings: RoleBindingService; quotas: QuotaService; tokens: TokenService }) {
  const { db } = deps.store;
  const { audit, roleBindings, quotas, tokens } = deps;
  quotas.defineMeter('users', async (executor, organizations) => {
    const { n } = await executor.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', 'in', organizations).executeTakeFirstOrThrow();
    return Number(n);
  });

  /** Users of the acting subtree, each with its role in its own organization. */
  const visible = (actor: Actor) =>
    db
      .selectFrom('users')
      .leftJoin('role_bindings', (join) => join.onRef('role_bindings.user_id', '=', 'users.id').onRef('role_bindings.organization_id', '=', 'users.organization_id'))
      .selectAll('users')
      .select('role_bindings.role')
      .where('users.organization_id', 'in', organizationIdsUnder(db, actor.organizationPath));

  async function find(actor: Actor, id: string): Promise<UserWithRole> {
    const userId = id === SELF ? actor.principal.userId : id;
    let query = visible(actor);
    // Oneself is always visible, even when acting in a sub-organization.
    if (id === SELF) query = query.clearWhere();
    const row = isUuid(userId) ? await query.where('users.id', '=', userId).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('user', 'No user matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<User>> {
    assertAllowed(actor, 'user:read');
    const result = await runList<UserWithRole>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toUser) } as ListResult<User>;
  }

  /** Anyone may read themselves (`-`), as whoami does; reading others needs `user:read`. */
  async function get(actor: Actor, id: string): Promise<User> {
    if (id !== SELF && id !== actor.principal.userId) assertAllowed(actor, 'user:read');
    return toUser(await find(actor, id));
  }

  function validateFields(input: UserInput, partial: boolean): FieldErrors {
    const errors: FieldErrors = {};
    if (input.username === undefined) {
      if (!partial) errors.username = ['This field is required.'];
    } else if (input.username === '') errors.username = ['This field may not be blank.'];
    else if ([...input.username].length > MAX.username) errors.username = [`Ensure this field has no more than ${MAX.username} characters.`];
    else if (!USERNAME_PATTERN.test(input.username)) {
      errors.username = ['Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'];
    }
    for (const field of ['email', 'firstName', 'lastName'] as const) {
      const value = input[field];
      if (value !== undefined && value.length > MAX[field]) errors[field] = [`Ensure this field has no more than ${MAX[field]} characters.`];
    }
    if (input.email && !errors.email && !EMAIL_PATTERN.test(input.email)) errors.email = ['Enter a valid email address.'];
    if (input.role !== undefined && !isRoleName(input.role)) errors.role = [`"${input.role}" is not a valid choice. Choose from: ${ROLE_NAMES.join(', ')}.`];
    return errors;
  }

  /** Only superusers hand out staff or superuser status. */
  function checkFlags(actor: Actor, input: UserInput): void {
    if ((input.isStaff !== undefined || input.isSuperuser !== undefined) && !actor.principal.isSuperuser) {
      throw new PermissionDenied('Only a superuser can change staff or superuser status.', 'permission_denied');
    }
  }

  function usernameTaken(error: unknown): never {
    if (isUniqueViolation(error)) throw ValidationFailed.field('username', 'A user with that username already exists.');
    throw error;
  }

  async function create(actor: Actor, input: UserInput): Promise<User> {
    assertAllowed(actor, 'user:write');
    checkFlags(actor, input);
    const role = input.role ?? 'member';
    // A new user's role is a grant like any other.
    if (isRoleName(role)) roleBindings.assertMayGrant(actor, role);
    const errors = validateFields(input, false);
    if (input.password !== undefined) {
      const messages = validatePassword(input.password, { username: input.username, email: input.email, first_name: input.firstName, last_name: input.lastName });
      if (messages.length) errors.password = messages;
    }
    const organizationId = input.organizationId ?? actor.organizationId;
    const organization = isUuid(organizationId) ? await organizationIdsUnder(db, actor.organizationPath).where('id', '=', organizationId).executeTakeFirst() : undefined;
    if (!organization) errors.organizationId = [`Invalid pk "${organizationId}" - object does not exist.`];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);

    const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
    const now = nowIso();
    const row: UserRow = {
      id: newId(),
      organization_id: organization!.id,
      username: input.username!,
      email: input.email ?? '',
      first_name: input.firstName ?? '',
      last_name: input.lastName ?? '',
      password_hash: passwordHash,
      is_active: input.isActive === false ? 0 : 1,
      is_staff: input.isStaff ? 1 : 0,
      is_superuser: input.isSuperuser ? 1 : 0,
      revision: 1,
      created_at: now,
      updated_at: now,
      last_login: null,
    };
    try {
      await db.transaction().execute(async (trx) => {
        await quotas.reserve(trx, row.organization_id, { users: 1 });
        await trx.insertInto('users').values(row).execute();
        await roleBindings.bind(actor, trx, row.id, row.organization_id, role);
      });
    } catch (error) {
      usernameTaken(error);
    }
    return toUser({ ...row, role });
  }

  /**
   * People edit their own names and email with a credential scoped to `profile:write`; everything
   * else about a user needs `user:write`, and a role change `role:write`.
   */
  async function update(actor: Actor, id: string, input: UserInput, options: { partial: boolean; expectedRevision?: number }): Promise<User> {
    const current = await find(actor, id);
    const self = current.id === actor.principal.userId;
    const personalOnly = Object.entries(input).every(([k, v]) => v === undefined || (PROFILE_FIELDS as readonly string[]).includes(k));
    if (self && personalOnly) assertScope(actor, 'profile:write');
    else assertAllowed(actor, 'user:write');
    checkFlags(actor, input);
    if (input.role !== undefined && input.role !== current.role && isRoleName(input.role)) roleBindings.assertMayGrant(actor, input.role, current.role);
    await roleBindings.assertMayManage(actor, current.id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    if (input.password !== undefined) throw ValidationFailed.field('password', 'Change a password with the password action (POST .../password/).');
    if (input.organizationId !== undefined && input.organizationId !== current.organization_id) {
      throw ValidationFailed.field('organizationId', 'A user cannot be moved to another organization.');
    }
    const errors = validateFields(input, options.partial);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    if (self && input.isActive === false) throw ValidationFailed.field('isActive', 'You cannot deactivate yourself.');

    const changes = {
      username: input.username ?? current.username,
      email: input.email ?? (options.partial ? current.email : ''),
      first_name: input.firstName ?? (options.partial ? current.first_name : ''),
      last_name: input.lastName ?? (options.partial ? current.last_name : ''),
      is_active: input.isActive === undefined ? current.is_active : input.isActive ? 1 : 0,
      is_staff: input.isStaff === undefined ? current.is_staff : input.isStaff ? 1 : 0,
      is_superuser: input.isSuperuser === undefined ? current.is_superuser : input.isSuperuser ? 1 : 0,
      revision: current.revision + 1,
      updated_at: nowIso(),
    };
    let role = current.role;
    try {
      await db.transaction().execute(async (trx) => {
        const result = await trx.updateTable('users').set(changes).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The user was changed by another request; read it again and retry.');
        if (input.role !== undefined && input.role !== current.role) role = (await roleBindings.bind(actor, trx, current.id, current.organization_id, input.role)).role;
      });
    } catch (error) {
      usernameTaken(error);
    }
    return toUser({ ...current, ...changes, role });
  }

  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'user:write');
    const current = await find(actor, id);
    if (current.id === actor.principal.userId) throw new Conflict('You cannot delete yourself.', 'user_is_self');
    await roleBindings.assertMayManage(actor, current.id);
    await db.transaction().execute(async (trx) => {
      // Deleting a group's only owner would leave the group without one.
      const soleOwnerOf = await trx
        .selectFrom('group_memberships as mine')
        .innerJoin('groups', 'groups.id', 'mine.group_id')
        .select('groups.name')
        .where('mine.user_id', '=', current.id)
        .where('mine.role', '=', 'owner')
        .where((eb) =>
          eb(
            eb.selectFrom('group_memberships as owners').select((o) => o.fn.countAll<number>().as('n')).whereRef('owners.group_id', '=', 'mine.group_id').where('owners.role', '=', 'owner'),
            '=',
            1,
          ),
        )
        .execute();
      if (soleOwnerOf.length) {
        throw new ValidationFailed({}, soleOwnerOf.map((g) => `${current.username} is the only owner of the group "${g.name}". Add another owner to proceed.`));
      }
      await trx.deleteFrom('api_tokens').where('user_id', '=', current.id).execute();
      await trx.deleteFrom('users').where('id', '=', current.id).execute();
    });
  }

  /**
   * Changes a password. For oneself the old password is required; someone with `user:write`
   * resets another user's without it. Other login sessions of the user end.
   */
  async function changePassword(actor: Actor, id: string, input: PasswordChange): Promise<void> {
    const current = await find(actor, id);
    const self = current.id === actor.principal.userId;
    if (self) assertScope(actor, 'profile:write');
    else {
      assertAllowed(actor, 'user:write');
      await roleBindings.assertMayManage(actor, current.id);
    }
    const errors: FieldErrors = {};
    if (self && !input.oldPassword) errors.oldPassword = ['This field is required.'];
    if (input.password === undefined || input.password === '') errors.password = [input.password === '' ? 'This field may not be blank.' : 'This field is required.'];
    else {
      const messages = validatePassword(input.password, current);
      if (messages.length) errors.password = messages;
    }
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    if (self && !(current.password_hash && (await verifyPassword(current.password_hash, input.oldPassword!)))) {
      throw ValidationFailed.field('oldPassword', 'Your old password was entered incorrectly. Please enter it again.');
    }
    const passwordHash = await hashPassword(input.password!);
    await db.updateTable('users').set({ password_hash: passwordHash, updated_at: nowIso(), revision: current.revision + 1 }).where('id', '=', current.id).execute();
    await tokens.revokeSessionsOf(current.id, self && actor.principal.credentialKind === 'session' ? actor.principal.credentialId : null);
    await audit.recordFor(actor, { action: 'password_changed', targetType: 'user', targetId: current.id, detail: { reset: !self } });
  }

  return { list, get, create, update, remove, changePassword };
}
