import net from 'node:net';
import type { DnsRecordRow, DnsZoneRow } from '../../store/schema.ts';
import type { FieldErrors } from '../errors.ts';
import { NameError, parseTargetName } from './names.ts';
import { dataFields, type RecordData, type RecordType } from './record-types.ts';

/** What the deployment tells every zone. */
export interface DnsSettings {
  /** The name servers of every zone (its apex NS records), absolute host names without the final dot. */
  nameservers: string[];
  /** Secondaries of every zone (`address` or `address:port`): notified of changes, allowed to transfer. */
  secondaries: string[];
}

/** A zone as core shows it: its row, with its lists and flags decoded, and the deployment's name servers. */
export interface Zone extends Omit<DnsZoneRow, 'organization_path' | 'secondaries' | 'server_records'> {
  secondaries: string[];
  server_records: boolean;
  /** The deployment's name servers: the zone's apex NS records. */
  nameservers: string[];
}

export interface DnsRecord {
  id: string;
  zone_id: string;
  /** Absolute, without the final dot. */
  name: string;
  type: RecordType;
  ttl: number | null;
  data: RecordData;
  /** The server whose address this is, for the records Nimbus keeps itself. */
  server_id: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

/** A zone with its records: what a zone shows when retrieved. */
export interface ZoneDetail extends Zone {
  records: DnsRecord[];
}

export function toZone(row: DnsZoneRow, settings: DnsSettings): Zone {
  const { organization_path: _path, ...fields } = row;
  return { ...fields, serial: Number(row.serial), secondaries: JSON.parse(row.secondaries) as string[], server_records: row.server_records === 1, nameservers: settings.nameservers };
}

export function toRecord(row: DnsRecordRow): DnsRecord {
  const type = row.type as RecordType;
  return {
    id: row.id,
    zone_id: row.zone_id,
    name: row.name,
    type,
    ttl: row.ttl,
    data: { type, ...JSON.parse(row.data) } as RecordData,
    server_id: row.server_id,
    revision: row.revision,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The stored JSON of a record's data. */
export const storedData = (data: RecordData): string => JSON.stringify(dataFields(data));

/** What a client may set on a zone. */
export interface ZoneInput {
  name?: string;
  default_ttl?: number;
  primary_ns?: string;
  email?: string;
  refresh?: number;
  retry?: number;
  expire?: number;
  minimum?: number;
  secondaries?: string[];
  server_records?: boolean;
}

export const MAX_TTL = 2 ** 31 - 1;
export const ZONE_DEFAULTS = { default_ttl: 3600, refresh: 10800, retry: 3600, expire: 1209600, minimum: 300 } as const;
const MAX_SECONDARIES = 10;
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}$/;

export function checkTtl(errors: FieldErrors, field: string, value: number | null | undefined, { min = 0 } = {}): void {
  if (value === undefined || value === null) return;
  if (!Number.isInteger(value) || value < min || value > MAX_TTL) errors[field] = [`Ensure this value is a whole number of seconds from ${min} to ${MAX_TTL}.`];
}

/** A secondary's `address` or `address:port` (`[v6]:port`); null when it is not one. */
export function parseSecondary(value: string): { address: string; port: number } | null {
  const match = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(value) ?? /^([0-9.]+)(?::(\d{1,5}))?$/.exec(value) ?? /^([0-9a-fA-F:.]+)$/.exec(value);
  if (!match || !net.isIP(match[1]!)) return null;
  const port = match[2] ? Number(match[2]) : 53;
  return port >= 1 && port <= 65535 ? { address: match[1]!, port } : null;
}

/** Validates the SOA and transfer fields of a zone (its name is checked apart). */
export function checkZoneInput(errors: FieldErrors, input: ZoneInput, zone: string): void {
  checkTtl(errors, 'default_ttl', input.default_ttl);
  for (const field of ['refresh', 'retry', 'expire'] as const) checkTtl(errors, field, input[field], { min: 1 });
  checkTtl(errors, 'minimum', input.minimum);
  if (input.primary_ns !== undefined) {
    try {
      parseTargetName(input.primary_ns, zone, { host: true });
    } catch (error) {
      if (!(error instanceof NameError)) throw error;
      errors.primary_ns = [error.message];
    }
  }
  if (input.email !== undefined && !EMAIL.test(input.email)) errors.email = ['Enter a valid email address (the zone\'s contact, such as hostmaster@example.com).'];
  if (input.secondaries !== undefined) {
    if (input.secondaries.length > MAX_SECONDARIES) errors.secondaries = [`A zone has at most ${MAX_SECONDARIES} secondaries.`];
    const bad = input.secondaries.find((s) => parseSecondary(s) === null);
    if (bad !== undefined) errors.secondaries = [`"${bad}" is not an IP address, or an address and a port (192.0.2.1:5353, [2001:db8::1]:5353).`];
  }
}
