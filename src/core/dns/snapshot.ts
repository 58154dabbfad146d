import type { DnsRecordRow, DnsZoneRow } from '../../store/schema.ts';
import type { DnsSettings } from './model.ts';
import { toRecord } from './model.ts';
import { isAtOrBelow, parentOf } from './names.ts';
import type { RecordData } from './record-types.ts';

/** The SOA's data as DNS carries it. */
export interface SoaData {
  type: 'SOA';
  primaryNs: string;
  email: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export type RrData = RecordData | SoaData;

/** One resource record as the server sends it. */
export interface Rr {
  name: string;
  ttl: number;
  data: RrData;
}

/** The records of one name and type; one TTL for all of them (the lowest, RFC 2181 5.2). */
export interface RrSet {
  ttl: number;
  data: RrData[];
}

/** A zone as the server answers from it: immutable, rebuilt when the zone changes. */
export interface ZoneSnapshot {
  id: string;
  name: string;
  serial: number;
  soa: Rr;
  /** TTL of negative answers (RFC 2308: the lower of the SOA's TTL and its minimum). */
  negativeTtl: number;
  /** name -> type -> records; the apex holds the SOA and the deployment's NS records. */
  nodes: Map<string, Map<string, RrSet>>;
  /** Every name that exists: those with records and the empty names between them and the apex. */
  names: Set<string>;
  /** Names below the apex with NS records: zone cuts. */
  delegations: Set<string>;
  /** Addresses allowed to transfer the zone (its secondaries and the deployment's). */
  transferAllowed: Set<string>;
  /** Every record, apex SOA first, in a stable order (for zone transfers). */
  all: Rr[];
  /** Answers already worked out, by `name type` (the zone never changes: a change makes a new snapshot). */
  answers: Map<string, unknown>;
}

export function buildSnapshot(zone: DnsZoneRow, rows: DnsRecordRow[], settings: DnsSettings, transferAllowed: Set<string>): ZoneSnapshot {
  const soa: Rr = {
    name: zone.name,
    ttl: zone.default_ttl,
    data: { type: 'SOA', primaryNs: zone.primary_ns, email: zone.email, serial: Number(zone.serial), refresh: zone.refresh, retry: zone.retry, expire: zone.expire, minimum: zone.minimum },
  };
  const nameservers: Rr[] = settings.nameservers.map((hostname) => ({ name: zone.name, ttl: zone.default_ttl, data: { type: 'NS', hostname } }));
  const records: Rr[] = rows.map(toRecord).map((r) => ({ name: r.name, ttl: r.ttl ?? zone.default_ttl, data: r.data }));
  const all = [soa, ...nameservers, ...records];
  const nodes = new Map<string, Map<string, RrSet>>();
  const names = new Set<string>();
  for (const rr of all) {
    const node = nodes.get(rr.name) ?? new Map<string, RrSet>();
    nodes.set(rr.name, node);
    const set = node.get(rr.data.type);
    if (set) {
      set.ttl = Math.min(set.ttl, rr.ttl);
      set.data.push(rr.data);
    } else {
      node.set(rr.data.type, { ttl: rr.ttl, data: [rr.data] });
    }
    for (let name: string | null = rr.name; name !== null && isAtOrBelow(name, zone.name) && !names.has(name); name = parentOf(name)) names.add(name);
  }
  const delegations = new Set(records.filter((r) => r.data.type === 'NS').map((r) => r.name));
  return { id: zone.id, name: zone.name, serial: Number(zone.serial), soa, negativeTtl: Math.min(zone.default_ttl, zone.minimum), nodes, names, delegations, transferAllowed, all, answers: new Map() };
}
