import type { QuotaResource, QuotaService } from '../quotas/quota-service.ts';
import { asNumber, type Executor } from '../compute/context.ts';
import { appMemoryUnder } from './formation-service.ts';

/**
 * Quotas of apps are counted over an organization's whole subtree: a limit set on an
 * organization bounds the apps of it and all its sub-organizations together. A change in an
 * organization is checked against the limits of the organization and of every ancestor, each
 * taking its turn first (root first, so two checks never wait on each other in a circle).
 */
export function appQuotas(quotas: QuotaService) {
  /** The organization and its ancestors, root first: their paths are the prefixes of its materialized path (`/a/b/c/`). */
  async function lineage(trx: Executor, organizationId: string): Promise<{ id: string; path: string }[]> {
    const own = await trx.selectFrom('organizations').select('path').where('id', '=', organizationId).executeTakeFirstOrThrow();
    const segments = own.path.split('/').filter(Boolean);
    const paths = segments.map((_, i) => `/${segments.slice(0, i + 1).join('/')}/`);
    const rows = await trx.selectFrom('organizations').select(['id', 'path']).where('path', 'in', paths).execute();
    return rows.sort((a, b) => a.path.length - b.path.length);
  }

  /**
   * Throws `QuotaExceeded` when `adding` more of `resource` in the organization would pass a
   * limit on it or an ancestor. `current(path)` is the subtree's total under an organization's path.
   */
  async function assertSubtreesWithin(trx: Executor, organizationId: string, resource: QuotaResource, adding: number, current: (path: string) => Promise<number>): Promise<void> {
    for (const organization of await lineage(trx, organizationId)) {
      await quotas.takeTurn(trx, organization.id);
      await quotas.assertWithin(trx, organization.id, resource, await current(organization.path), adding);
    }
  }

  return {
    /** `bytes` more container memory for the organization's apps (a scale, a first formation). */
    forMemory(trx: Executor, organizationId: string, bytes: number): Promise<void> {
      return assertSubtreesWithin(trx, organizationId, 'app_memory_bytes', bytes, (path) => appMemoryUnder(trx, path));
    },

    /** One more app in the organization: a create, or the transfer of `moving` into it (not counted where it is now). */
    forApp(trx: Executor, organizationId: string, moving?: string): Promise<void> {
      return assertSubtreesWithin(trx, organizationId, 'apps', 1, async (path) => {
        let count = trx.selectFrom('apps').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_path', 'like', `${path}%`);
        if (moving) count = count.where('id', '!=', moving);
        const row = await count.executeTakeFirst();
        return asNumber(row?.n);
      });
    },
  };
}

export type AppQuotas = ReturnType<typeof appQuotas>;
