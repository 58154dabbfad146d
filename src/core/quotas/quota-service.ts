import { sql, type Kysely } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { Database } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid } from '../clock.ts';
import { NotFound, PermissionDenied, QuotaExceeded, ValidationFailed } from '../errors.ts';
import { organizationIdsUnder } from '../organizations/subtree.ts';

/** What an organization's quotas can limit. Each resource is counted by the meter its domain defines. */
export const QUOTA_RESOURCES = ['users', 'servers', 'volumes', 'snapshots', 'images', 'apps', 'dns_zones', 'dns_records', 'vcpus', 'memory_bytes', 'volume_bytes', 'image_bytes', 'app_memory_bytes'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

/** Limit per resource; null is unlimited. */
export type Quotas = Record<QuotaResource, number | null>;

/** How much of some resources a change adds. */
export type QuotaAmounts = Partial<Record<QuotaResource, number>>;

/** The ids of a set of organizations (a subtree), as a subquery for `where organization_id in (...)`. */
export type OrganizationIds = ReturnType<typeof organizationIdsUnder>;

/** How much of a resource a set of organizations uses now, read with the executor given. */
export type QuotaMeter = (executor: Kysely<Database>, organizations: OrganizationIds) => Promise<number>;

export type QuotaService = ReturnType<typeof createQuotaService>;

// Arbitrary constant naming quota turns among PostgreSQL advisory locks (with the organization's hash).
const QUOTA_LOCK_ID = 727_002;

const ancestorsOf = (path: string) => path.split('/').filter(Boolean);

/**
 * Quotas: limits an organization's parent sets on it, each holding for the organization's whole
 * subtree (a sub-organization's usage counts toward the limits of every organization above it).
 * This is the one quota mechanism: a domain defines a meter for each resource it owns, and
 * calls `reserve` in the transaction that creates, grows or moves what it counts.
 */
export function createQuotaService({ store }: { store: Pick<Store, 'db' | 'dialect'> }) {
  const { db } = store;
  const meters = new Map<QuotaResource, QuotaMeter>();

  /** Says how a resource is counted; its domain defines it once, when core is composed. */
  function defineMeter(resource: QuotaResource, meter: QuotaMeter): void {
    if (meters.has(resource)) throw new Error(`the ${resource} quota already has a meter`);
    meters.set(resource, meter);
  }

  /**
   * Makes the quota-checked changes under an organization take turns until the calling
   * transaction ends. Taken on every limited ancestor before counting, root first (so two
   * transactions never wait on each other in opposite orders): two PostgreSQL transactions (read
   * committed) would otherwise both count the same total and both pass a limit with room for
   * one. SQLite has one writer already.
   */
  async function takeTurn(executor: Kysely<Database>, organizationId: string): Promise<void> {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${QUOTA_LOCK_ID}, hashtext(${organizationId}))`.execute(executor);
  }

  /**
   * Checks, inside the transaction that makes the change, that every limit on the
   * organizations in `ancestors` (root first) still holds with `adding` more of each resource,
   * and throws `QuotaExceeded` for the first that would not. Unlimited resources cost nothing.
   */
  async function enforce(executor: Kysely<Database>, ancestors: string[], adding: QuotaAmounts): Promise<void> {
    const resources = (Object.keys(adding) as QuotaResource[]).filter((r) => (QUOTA_RESOURCES as readonly string[]).includes(r));
    if (!resources.length || !ancestors.length) return;
    for (const resource of resources) if (!meters.has(resource)) throw new Error(`the ${resource} quota has no meter`);
    const limits = await executor
      .selectFrom('organization_quotas')
      .innerJoin('organizations', 'organizations.id', 'organization_quotas.organization_id')
      .select(['organizations.id', 'organizations.path', 'organization_quotas.resource', 'organization_quotas.maximum'])
      .where('organization_quotas.organization_id', 'in', ancestors)
      .where('organization_quotas.resource', 'in', resources)
      .execute();
    if (!limits.length) return;
    const limited = ancestors.filter((id) => limits.some((l) => l.id === id));
    for (const id of limited) await takeTurn(executor, id);
    for (const id of limited) {
      for (const limit of limits.filter((l) => l.id === id)) {
        const resource = limit.resource as QuotaResource;
        const used = await meters.get(resource)!(executor, organizationIdsUnder(executor, limit.path));
        if (used + (adding[resource] ?? 0) > limit.maximum) throw new QuotaExceeded(resource, limit.maximum);
      }
    }
  }

  async function pathOf(executor: Kysely<Database>, organizationId: string): Promise<string> {
    const row = await executor.selectFrom('organizations').select('path').where('id', '=', organizationId).executeTakeFirstOrThrow();
    return row.path;
  }

  /**
   * Admits a change that adds `adding` to an organization (a user, a server's vCPUs and memory,
   * a volume's bytes...), or throws `QuotaExceeded`: the organization's own limits and those of
   * every organization above it must hold. Call it inside the transaction that makes the change.
   */
  async function reserve(executor: Kysely<Database>, organizationId: string, adding: QuotaAmounts): Promise<void> {
    await enforce(executor, ancestorsOf(await pathOf(executor, organizationId)), adding);
  }

  /**
   * How much more of `resource` the organization may add before its own limit or one above it
   * is reached (never below 0); undefined when nothing limits it. For work that must stop before
   * it passes a limit (an image import), checked again with `reserve` when it is recorded.
   */
  async function headroom(executor: Kysely<Database>, organizationId: string, resource: QuotaResource): Promise<number | undefined> {
    const meter = meters.get(resource);
    if (!meter) throw new Error(`the ${resource} quota has no meter`);
    const limits = await executor
      .selectFrom('organization_quotas')
      .innerJoin('organizations', 'organizations.id', 'organization_quotas.organization_id')
      .select(['organizations.path', 'organization_quotas.maximum'])
      .where('organization_quotas.organization_id', 'in', ancestorsOf(await pathOf(executor, organizationId)))
      .where('organization_quotas.resource', '=', resource)
      .execute();
    let left: number | undefined;
    for (const limit of limits) left = Math.min(left ?? Infinity, limit.maximum - (await meter(executor, organizationIdsUnder(executor, limit.path))));
    return left === undefined ? undefined : Math.max(0, left);
  }

  /**
   * Admits a subtree moved from under `previousParentPath`, inside the transaction that moved it
   * (paths already rewritten): the limits of its new ancestors (those it was not under before)
   * must hold with everything it holds.
   */
  async function admitMovedSubtree(executor: Kysely<Database>, movedId: string, previousParentPath: string): Promise<void> {
    const before = new Set(ancestorsOf(previousParentPath));
    const gained = ancestorsOf(await pathOf(executor, movedId)).filter((id) => id !== movedId && !before.has(id));
    await enforce(executor, gained, Object.fromEntries([...meters.keys()].map((r) => [r, 0])));
  }

  async function limitsOf(executor: Kysely<Database>, organizationId: string): Promise<Quotas> {
    const rows = await executor.selectFrom('organization_quotas').select(['resource', 'maximum']).where('organization_id', '=', organizationId).execute();
    const quotas = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, null])) as Quotas;
    for (const row of rows) if ((QUOTA_RESOURCES as readonly string[]).includes(row.resource)) quotas[row.resource as QuotaResource] = row.maximum;
    return quotas;
  }

  async function findOrganization(actor: Actor, id: string) {
    const row = isUuid(id)
      ? await db.selectFrom('organizations').select(['id', 'path']).where('id', '=', id).where('path', 'like', `${actor.organizationPath}%`).executeTakeFirst()
      : undefined;
    if (!row) throw new NotFound('organization', 'No organization matches the given query.');
    return row;
  }

  async function get(actor: Actor, organizationId: string): Promise<Quotas> {
    assertAllowed(actor, 'quota:read');
    const organization = await findOrganization(actor, organizationId);
    return limitsOf(db, organization.id);
  }

  /**
   * Sets some limits (null removes one). An organization's quotas are set from above: only for
   * organizations strictly below the caller's own, so nobody raises their own limits.
   */
  async function set(actor: Actor, organizationId: string, changes: Partial<Quotas>): Promise<Quotas> {
    assertAllowed(actor, 'quota:write');
    const organization = await findOrganization(actor, organizationId);
    if (!actor.principal.isSuperuser && !(organization.path.startsWith(actor.principal.organizationPath) && organization.path !== actor.principal.organizationPath)) {
      throw new PermissionDenied("An organization's quotas are set by its parent organization.", 'permission_denied');
    }
    // Only the known quotas are read from the input: anything else in it is ignored.
    const wanted = QUOTA_RESOURCES.filter((r) => Object.hasOwn(changes, r)).map((resource) => ({ resource, limit: changes[resource] ?? null }));
    const fields: Record<string, string[]> = {};
    for (const { resource, limit } of wanted) {
      if (limit !== null && (!Number.isInteger(limit) || limit < 0)) fields[resource] = ['Ensure this value is a whole number greater than or equal to 0.'];
    }
    if (Object.keys(fields).length) throw new ValidationFailed(fields);
    await db.transaction().execute(async (trx) => {
      for (const { resource, limit } of wanted) {
        await trx.deleteFrom('organization_quotas').where('organization_id', '=', organization.id).where('resource', '=', resource).execute();
        if (limit !== null) await trx.insertInto('organization_quotas').values({ organization_id: organization.id, resource, maximum: limit }).execute();
      }
    });
    return limitsOf(db, organization.id);
  }

  return { defineMeter, reserve, headroom, admitMovedSubtree, get, set };
}
