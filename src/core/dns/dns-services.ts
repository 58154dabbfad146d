import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { AuditService } from '../audit/audit-service.ts';
import type { EventService } from '../events/event-service.ts';
import type { QuotaService } from '../quotas/quota-service.ts';
import { createDnsAuthority } from './authority.ts';
import { createDnsCatalog } from './catalog.ts';
import { zoneChanges, type ZonePublisher } from './changes.ts';
import { dnsQuotas } from './dns-quotas.ts';
import type { DnsSettings } from './model.ts';
import { createRecordService } from './record-service.ts';
import { serverRecords } from './server-records.ts';
import { createZoneService } from './zone-service.ts';

export interface DnsDeps {
  store: Store;
  events: EventService;
  audit: AuditService;
  quotas: QuotaService;
  notifier: Notifier;
  settings: DnsSettings;
  /** Sends DNS NOTIFY to secondaries (the DNS backend); without it, secondaries only poll. */
  publisher?: ZonePublisher;
}

export type DnsServices = ReturnType<typeof createDnsServices>;

/** Zones and records, the cache the DNS server answers from, and the records kept for servers. */
export function createDnsServices(deps: DnsDeps) {
  const catalog = createDnsCatalog(deps);
  const changes = zoneChanges({ ...deps, catalog });
  const limits = dnsQuotas(deps.quotas);
  const servers = serverRecords({ changes });
  const zones = createZoneService({ ...deps, changes, limits, serverRecords: servers });
  const records = createRecordService({ ...deps, zones, changes, limits, serverRecords: servers });
  return {
    settings: deps.settings,
    zones,
    records,
    /** Keeps `<server>.<zone>` records as servers come and go (compute calls it). */
    serverRecords: servers,
    catalog,
    authority: createDnsAuthority(catalog),
  };
}
