import type { Store } from '../../store/database.ts';
import type { Principal } from '../actor.ts';
import { isUuid } from '../clock.ts';
import { NotFound } from '../errors.ts';
import { TtlCache } from '../ttl-cache.ts';
import { ALL_PERMISSIONS, expandScopes, intersect, type Permission } from './permissions.ts';
import { permissionsOfRoles } from './roles.ts';

/** Role bindings and organization paths are re-read at most this often per replica. */
const CACHE_TTL_MS = 2_000;

export interface ActingContext {
  organizationId: string;
  organizationPath: string;
  permissions: ReadonlySet<Permission>;
}

interface Binding {
  organizationId: string;
  role: string;
}

export type AccessService = ReturnType<typeof createAccessService>;

/**
 * Decides where a principal may act and what it may do there. This runs on every
 * authenticated request, so everything it reads is cached briefly and nothing is written.
 */
export function createAccessService({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;
  const organizationPaths = new TtlCache<string, string | null>(CACHE_TTL_MS);
  const bindingsByUser = new TtlCache<string, Binding[]>(CACHE_TTL_MS);
  const scopeSets = new Map<string, Set<Permission>>();
  const effective = new TtlCache<string, ReadonlySet<Permission>>(CACHE_TTL_MS);
  const everything: ReadonlySet<Permission> = new Set(ALL_PERMISSIONS);

  async function organizationPath(id: string): Promise<string | null> {
    const cached = organizationPaths.get(id);
    if (cached !== undefined) return cached;
    const row = isUuid(id) ? await db.selectFrom('organizations').select('path').where('id', '=', id).executeTakeFirst() : undefined;
    organizationPaths.set(id, row?.path ?? null);
    return row?.path ?? null;
  }

  async function bindingsOf(userId: string): Promise<Binding[]> {
    const cached = bindingsByUser.get(userId);
    if (cached) return cached;
    const rows = await db.selectFrom('role_bindings').select(['organization_id', 'role']).where('user_id', '=', userId).execute();
    const bindings = rows.map((r) => ({ organizationId: r.organization_id, role: r.role }));
    bindingsByUser.set(userId, bindings);
    return bindings;
  }

  /** Roles bound on the organization at `path` or any of its ancestors: they add up. */
  function rolesOnPath(bindings: Binding[], path: string): string[] {
    return bindings.filter((b) => path.includes(`/${b.organizationId}/`)).map((b) => b.role);
  }

  function scopePermissions(scopes: readonly string[]): Set<Permission> {
    const key = scopes.join(' ');
    let set = scopeSets.get(key);
    if (!set) {
      if (scopeSets.size >= 1_000) scopeSets.clear();
      set = expandScopes(scopes);
      scopeSets.set(key, set);
    }
    return set;
  }

  /**
   * The organization a request acts in (the principal's own, or `requestedOrganizationId` when
   * the principal's organization is its ancestor or the user holds a role on it or above) and
   * the request's effective permissions. Anything else is a 404: a foreign organization's
   * existence is not revealed.
   */
  async function actingContext(principal: Principal, requestedOrganizationId?: string): Promise<ActingContext> {
    const organizationId = requestedOrganizationId ?? principal.organizationId;
    const path = requestedOrganizationId ? await organizationPath(requestedOrganizationId) : principal.organizationPath;
    const bindings = principal.isSuperuser ? [] : await bindingsOf(principal.userId);
    if (!path) throw new NotFound('organization', 'No organization matches the given query.');
    const roles = rolesOnPath(bindings, path);
    const reachable = principal.isSuperuser || path.startsWith(principal.organizationPath) || roles.length > 0;
    if (!reachable) throw new NotFound('organization', 'No organization matches the given query.');

    const cacheKey = `${principal.userId} ${path} ${principal.scopes.join(' ')}`;
    let permissions = effective.get(cacheKey);
    if (!permissions) {
      const granted = principal.isSuperuser ? everything : permissionsOfRoles(roles);
      permissions = intersect(granted, scopePermissions(principal.scopes));
      effective.set(cacheKey, permissions);
    }
    return { organizationId, organizationPath: path, permissions };
  }

  /**
   * What the principal may do in `organizationId` (its roles there and above, within its scopes);
   * nothing where it may not act at all.
   */
  async function permissionsAt(principal: Principal, organizationId: string): Promise<ReadonlySet<Permission>> {
    try {
      return (await actingContext(principal, organizationId)).permissions;
    } catch (error) {
      if (error instanceof NotFound) return new Set();
      throw error;
    }
  }

  /** Forgets what this replica cached about a user's roles (after a role change). */
  function forgetUser(userId: string): void {
    bindingsByUser.delete(userId);
    effective.deleteWhere((key) => key.startsWith(`${userId} `));
  }

  /** Forgets every organization path this replica cached (after an organization moved). */
  function forgetOrganizationPaths(): void {
    organizationPaths.clear();
    effective.clear();
  }

  /** The id of the organization with this slug (a workspace's name), if there is one. */
  async function organizationIdBySlug(slug: string): Promise<string | undefined> {
    return (await db.selectFrom('organizations').select('id').where('slug', '=', slug).executeTakeFirst())?.id;
  }

  /** The slug of an organization: its workspace's name. */
  async function slugOf(organizationId: string): Promise<string | undefined> {
    return (await db.selectFrom('organizations').select('slug').where('id', '=', organizationId).executeTakeFirst())?.slug;
  }

  return { actingContext, permissionsAt, forgetUser, forgetOrganizationPaths, organizationIdBySlug, slugOf };
}
