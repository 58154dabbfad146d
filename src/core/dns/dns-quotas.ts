import { asNumber } from '../compute/context.ts';
import type { OrganizationIds, QuotaService } from '../quotas/quota-service.ts';
import type { Executor } from './changes.ts';

/**
 * DNS quotas (`dns_zones`, `dns_records`), each counted over a whole subtree: an organization's
 * limit covers its sub-organizations' zones and records too. The records Nimbus keeps for
 * servers do not count (servers have their own quota).
 */
export function dnsQuotas(quotas: QuotaService) {
  quotas.defineMeter('dns_zones', async (executor, organizations: OrganizationIds) => {
    const row = await executor.selectFrom('dns_zones').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', 'in', organizations).executeTakeFirst();
    return asNumber(row?.n);
  });
  quotas.defineMeter('dns_records', async (executor, organizations: OrganizationIds) => {
    const row = await executor
      .selectFrom('dns_records')
      .innerJoin('dns_zones', 'dns_zones.id', 'dns_records.zone_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('dns_zones.organization_id', 'in', organizations)
      .where('dns_records.server_id', 'is', null)
      .executeTakeFirst();
    return asNumber(row?.n);
  });
  return {
    forZone: (trx: Executor, organizationId: string) => quotas.reserve(trx, organizationId, { dns_zones: 1 }),
    /** After a change wrote `added` more records than it removed: the counts, which include them, must be within the limits. */
    forRecordsWritten: async (trx: Executor, organizationId: string, added: number) => {
      if (added > 0) await quotas.reserve(trx, organizationId, { dns_records: 0 });
    },
  };
}

export type DnsQuotas = ReturnType<typeof dnsQuotas>;
