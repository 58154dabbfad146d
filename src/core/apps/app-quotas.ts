import type { OrganizationIds, QuotaService } from '../quotas/quota-service.ts';
import { asNumber, type Executor } from '../compute/context.ts';
import { SIZES } from './plans.ts';

/**
 * Apps' quotas: the number of apps and their containers' memory (amount x size of every
 * process type), each counted over an organization's whole subtree and checked inside the
 * transaction that creates, scales or moves what it counts.
 */
export function appQuotas(quotas: QuotaService) {
  quotas.defineMeter('apps', async (executor, organizations) => {
    const row = await executor.selectFrom('apps').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', 'in', organizations).executeTakeFirst();
    return asNumber(row?.n);
  });
  quotas.defineMeter('app_memory_bytes', (executor, organizations) => appMemoryOf(executor, organizations));

  return {
    /** `bytes` more container memory for the organization's apps (a scale, a first formation). */
    forMemory: (trx: Executor, organizationId: string, bytes: number) => quotas.reserve(trx, organizationId, { app_memory_bytes: bytes }),
    /** One more app in the organization. */
    forApp: (trx: Executor, organizationId: string) => quotas.reserve(trx, organizationId, { apps: 1 }),
    /**
     * An app just moved into the organization (in this transaction): the limits there, with the
     * app and its containers now counted, must still hold.
     */
    forArrival: (trx: Executor, organizationId: string) => quotas.reserve(trx, organizationId, { apps: 0, app_memory_bytes: 0 }),
  };
}

/** The memory of the apps' containers of a set of organizations, as their formations ask for it. */
async function appMemoryOf(executor: Executor, organizations: OrganizationIds): Promise<number> {
  const rows = await executor
    .selectFrom('app_formation')
    .innerJoin('apps', 'apps.id', 'app_formation.app_id')
    .select(['app_formation.amount', 'app_formation.size'])
    .where('apps.organization_id', 'in', organizations)
    .execute();
  return rows.reduce((total, row) => total + asNumber(row.amount) * (SIZES[row.size]?.memoryBytes ?? 0), 0);
}

export type AppQuotas = ReturnType<typeof appQuotas>;
