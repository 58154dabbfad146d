import { sql, type Kysely } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { Database } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid } from '../clock.ts';
import { NotFound, PermissionDenied, QuotaExceeded, ValidationFailed } from '../errors.ts';

/** What an organization's quotas can limit. Each service enforces its own with `assertWithin`. */
export const QUOTA_RESOURCES = ['users', 'servers', 'volumes', 'snapshots', 'images', 'apps', 'dns_zones', 'vcpus', 'memory_bytes', 'volume_bytes', 'app_memory_bytes'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

/** Limit per resource; null is unlimited. */
export type Quotas = Record<QuotaResource, number | null>;

export type QuotaService = ReturnType<typeof createQuotaService>;

// Arbitrary constant naming quota turns among PostgreSQL advisory locks (with the organization's hash).
const QUOTA_LOCK_ID = 727_002;

export function createQuotaService({ store }: { store: Pick<Store, 'db' | 'dialect'> }) {
  const { db } = store;

  /**
   * Makes an organization's quota-checked creates take turns until the calling transaction ends.
   * Call it before counting: two PostgreSQL transactions (read committed) would otherwise both
   * count the same total and both pass a limit with room for one. SQLite has one writer already.
   */
  async function takeTurn(trx: Kysely<Database>, organizationId: string): Promise<void> {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${QUOTA_LOCK_ID}, hashtext(${organizationId}))`.execute(trx);
  }

  async function limitsOf(executor: Kysely<Database>, organizationId: string): Promise<Quotas> {
    const rows = await executor.selectFrom('organization_quotas').select(['resource', 'maximum']).where('organization_id', '=', organizationId).execute();
    const quotas = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, null])) as Quotas;
    for (const row of rows) if ((QUOTA_RESOURCES as readonly string[]).includes(row.resource)) quotas[row.resource as QuotaResource] = row.maximum;
    return quotas;
  }

  /**
   * Throws `QuotaExceeded` when adding `adding` more of `resource` to the organization would pass
   * its limit. Call it inside the transaction that creates the resource, with the current count
   * read after `takeTurn`.
   */
  async function assertWithin(executor: Kysely<Database>, organizationId: string, resource: QuotaResource, current: number, adding = 1): Promise<void> {
    await assertAllWithin(executor, organizationId, [{ resource, current, adding }]);
  }

  /**
   * `assertWithin` for several resources at once, reading the limits once: checks them in order
   * and reports the first one that would pass its limit.
   */
  async function assertAllWithin(executor: Kysely<Database>, organizationId: string, checks: { resource: QuotaResource; current: number; adding: number }[]): Promise<void> {
    const limits = await limitsOf(executor, organizationId);
    for (const { resource, current, adding } of checks) {
      const limit = limits[resource];
      if (limit !== null && current + adding > limit) throw new QuotaExceeded(resource, limit);
    }
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

  return { takeTurn, assertWithin, assertAllWithin, get, set };
}
