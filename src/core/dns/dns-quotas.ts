import type { QuotaService } from '../quotas/quota-service.ts';
import { asNumber } from '../compute/context.ts';
import type { Executor } from './changes.ts';

/**
 * DNS quotas (`dns_zones`, `dns_records`), each counted over a whole subtree: an organization's
 * limit covers its sub-organizations' zones and records too. The records Nimbus keeps for
 * servers do not count (servers have their own quota).
 */
export function dnsQuotas(quotas: QuotaService) {
  const zonesUnder = (trx: Executor) => async (path: string) => {
    const row = await trx.selectFrom('dns_zones').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_path', 'like', `${path}%`).executeTakeFirst();
    return asNumber(row?.n);
  };
  const recordsUnder = (trx: Executor) => async (path: string) => {
    const row = await trx
      .selectFrom('dns_records')
      .innerJoin('dns_zones', 'dns_zones.id', 'dns_records.zone_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('dns_zones.organization_path', 'like', `${path}%`)
      .where('dns_records.server_id', 'is', null)
      .executeTakeFirst();
    return asNumber(row?.n);
  };
  return {
    forZone: (trx: Executor, organizationPath: string) => quotas.assertWithinSubtrees(trx, organizationPath, 'dns_zones', 1, zonesUnder(trx)),
    /** After a change wrote `added` more records than it removed: the counts, which include them, must be within the limits. */
    forRecordsWritten: async (trx: Executor, organizationPath: string, added: number) => {
      if (added > 0) await quotas.assertWithinSubtrees(trx, organizationPath, 'dns_records', 0, recordsUnder(trx));
    },
  };
}

export type DnsQuotas = ReturnType<typeof dnsQuotas>;
