import type { Selectable } from 'kysely';

/** A DNS zone an organization holds; Nimbus answers for it with its own authoritative server. */
export interface DnsZonesTable {
  id: string;
  organization_id: string;
  organization_path: string;
  /** Lower case, without the final dot (`example.com`). */
  name: string;
  default_ttl: number;
  /** SOA MNAME: an absolute host name without the final dot. */
  primary_ns: string;
  /** SOA RNAME, as an address (`hostmaster@example.com`). */
  email: string;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
  /** `YYYYMMDDnn`, bumped by every change, never going backwards. */
  serial: number;
  /** JSON array of `address` or `address:port` strings: notified of changes, allowed to transfer the zone. */
  secondaries: string;
  /** 0/1: the zone holds `<server>.<zone>` for each of its organization's servers. */
  server_records: number;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface DnsRecordsTable {
  id: string;
  zone_id: string;
  /** Absolute owner name, lower case, without the final dot. */
  name: string;
  type: string;
  /** Null: the zone's default TTL. */
  ttl: number | null;
  /** JSON of the type's fields (see src/core/dns/record-types.ts). */
  data: string;
  /** The server whose private address this record is (kept by Nimbus); null for users' records. */
  server_id: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface DnsTables {
  dns_zones: DnsZonesTable;
  dns_records: DnsRecordsTable;
}

export type DnsZoneRow = Selectable<DnsZonesTable>;
export type DnsRecordRow = Selectable<DnsRecordsTable>;
