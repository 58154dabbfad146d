import type { FastifyInstance } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { dataFields } from '../../core/dns/record-types.ts';
import type { DnsRecord, ZoneDetail } from '../../core/dns/model.ts';
import { pageRequest, paginationHeaders } from './pagination.ts';

/** Every record type ComputeStacks lists in a zone, each present even when empty. */
const ZONE_RECORD_TYPES = ['A', 'AAAA', 'CAA', 'CNAME', 'DS', 'HINFO', 'MX', 'NAPTR', 'NS', 'PTR', 'SRV', 'SOA', 'SSHFP', 'TLSA', 'TXT'] as const;

const summary = (zone: { id: string; name: string; created_at: string; updated_at: string }) => ({ id: zone.id, name: zone.name, created_at: zone.created_at, updated_at: zone.updated_at });

/**
 * A zone's records grouped by type as ComputeStacks shows them (`zone_id` is the zone's name):
 * the SOA and the apex NS records, which Nimbus derives from the zone, come first in theirs.
 */
export function recordsByType(zone: ZoneDetail): Record<string, Record<string, unknown>[]> {
  const grouped: Record<string, Record<string, unknown>[]> = Object.fromEntries(ZONE_RECORD_TYPES.map((type) => [type, []]));
  const soa = { ttl: zone.default_ttl, zone_id: zone.name, type: 'SOA', primary_ns: zone.primary_ns, email: zone.email, serial: zone.serial, refresh: zone.refresh, retry: zone.retry, expire: zone.expire, default: zone.minimum };
  grouped.SOA!.push(soa);
  for (const hostname of zone.nameservers) grouped.NS!.push({ ttl: zone.default_ttl, zone_id: zone.name, type: 'NS', name: zone.name, hostname });
  for (const record of zone.records) grouped[record.type]!.push(renderRecord(zone, record));
  return grouped;
}

function renderRecord(zone: ZoneDetail, record: DnsRecord): Record<string, unknown> {
  return { id: record.id, ttl: record.ttl ?? zone.default_ttl, zone_id: zone.name, type: record.type, name: record.name, ...dataFields(record.data) };
}

/** DNS zones (scope `dns_read`): the list, and one zone with its records. */
export function zoneRoutes(app: FastifyInstance, { dns }: Pick<CoreServices, 'dns'>): void {
  app.get('/api/zones', { config: { computestacksScope: 'dns_read' } }, async (request, reply) => {
    const result = await dns.zones.list(request.actor, pageRequest(request.query as Record<string, unknown>, {}, 'created_at'));
    paginationHeaders(reply, result);
    return { zones: result.items.map(summary) };
  });

  app.get<{ Params: { id: string } }>('/api/zones/:id', { config: { computestacksScope: 'dns_read' } }, async (request) => {
    const zone = await dns.zones.get(request.actor, request.params.id);
    return { zone: { ...summary(zone), records: recordsByType(zone) } };
  });
}
