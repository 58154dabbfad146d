import net from 'node:net';
import type { FieldErrors } from '../errors.ts';
import { fqdn, NameError, parseTargetName } from './names.ts';

/** The record types a zone holds (SOA and the apex NS records come from the zone itself). */
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'NS', 'PTR'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** Each type's own fields, as stored (JSON) and shown. Target names are absolute, without the final dot. */
export type RecordData =
  | { type: 'A' | 'AAAA'; ip: string }
  | { type: 'CNAME' | 'NS' | 'PTR'; hostname: string }
  | { type: 'MX'; priority: number; hostname: string }
  | { type: 'TXT'; value: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; hostname: string }
  | { type: 'CAA'; flags: number; tag: string; value: string };

/** What a client sends for a record's data: the fields of its type (ComputeStacks' names). */
export interface RecordFields {
  ip?: unknown;
  hostname?: unknown;
  priority?: unknown;
  weight?: unknown;
  port?: unknown;
  value?: unknown;
  flags?: unknown;
  tag?: unknown;
}

export const DATA_FIELDS = ['ip', 'hostname', 'priority', 'weight', 'port', 'value', 'flags', 'tag'] as const;

/** Which fields each type takes. */
export const TYPE_FIELDS: Record<RecordType, readonly (typeof DATA_FIELDS)[number][]> = {
  A: ['ip'],
  AAAA: ['ip'],
  CNAME: ['hostname'],
  NS: ['hostname'],
  PTR: ['hostname'],
  MX: ['priority', 'hostname'],
  TXT: ['value'],
  SRV: ['priority', 'weight', 'port', 'hostname'],
  CAA: ['flags', 'tag', 'value'],
};

export const MAX_TXT_BYTES = 8192;
const MAX_CAA_VALUE = 1024;
/** CAA property tags with a defined meaning (RFC 8659, 8657, 9495 and the CA/B Forum's). */
const CAA_TAGS = ['issue', 'issuewild', 'iodef', 'issuemail', 'issuevmc', 'contactemail', 'contactphone'];
// An issuer domain, then optional `; key=value` parameters (RFC 8659 4.2); or `;` alone: nobody may issue.
const CAA_ISSUE_VALUE = /^\s*(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)?\s*(?:;\s*(?:[a-z0-9]+=[\x21-\x3a\x3c-\x7e]*\s*(?:;\s*)?)*)?$/i;

const REQUIRED = 'This field is required.';

function integerIn(errors: FieldErrors, field: string, value: unknown, min: number, max: number): number {
  if (value === undefined || value === null) {
    errors[field] = [REQUIRED];
  } else if (typeof value !== 'number' || !Number.isInteger(value)) {
    errors[field] = ['A valid integer is required.'];
  } else if (value < min || value > max) {
    errors[field] = [`Ensure this value is between ${min} and ${max}.`];
  }
  return value as number;
}

function text(errors: FieldErrors, field: string, value: unknown): string {
  if (value === undefined || value === null || value === '') errors[field] = [REQUIRED];
  else if (typeof value !== 'string') errors[field] = ['Not a valid string.'];
  return typeof value === 'string' ? value : '';
}

function target(errors: FieldErrors, value: unknown, zone: string, options: { host?: boolean; root?: boolean }): string {
  const given = text(errors, 'hostname', value);
  if (errors.hostname) return '';
  try {
    return parseTargetName(given, zone, options);
  } catch (error) {
    if (!(error instanceof NameError)) throw error;
    errors.hostname = [error.message];
    return '';
  }
}

/** The canonical form of an IPv6 address (`2001:db8::1`). */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * A record's data from a client's fields, validated for its type; problems go into `errors`
 * under each field's name. Fields of other types are refused, so a typo is never ignored.
 */
export function parseRecordData(type: RecordType, fields: RecordFields, zone: string, errors: FieldErrors): RecordData {
  for (const field of DATA_FIELDS) {
    if (fields[field] !== undefined && !TYPE_FIELDS[type].includes(field)) errors[field] = [`A ${type} record has no ${field}: it takes ${TYPE_FIELDS[type].join(', ')}.`];
  }
  switch (type) {
    case 'A': {
      const ip = text(errors, 'ip', fields.ip).trim();
      if (!errors.ip && !net.isIPv4(ip)) errors.ip = ['Enter a valid IPv4 address.'];
      return { type, ip };
    }
    case 'AAAA': {
      const ip = text(errors, 'ip', fields.ip).trim();
      if (!errors.ip && !net.isIPv6(ip)) errors.ip = ['Enter a valid IPv6 address.'];
      return { type, ip: errors.ip ? ip : canonicalIpv6(ip) };
    }
    case 'CNAME':
    case 'PTR':
      return { type, hostname: target(errors, fields.hostname, zone, {}) };
    case 'NS':
      return { type, hostname: target(errors, fields.hostname, zone, { host: true }) };
    case 'MX': {
      const priority = integerIn(errors, 'priority', fields.priority, 0, 65535);
      const hostname = target(errors, fields.hostname, zone, { host: true, root: true });
      if (!errors.hostname && hostname === '' && priority !== 0) errors.hostname = ['A null MX (".", RFC 7505) has priority 0.'];
      return { type, priority, hostname };
    }
    case 'SRV':
      return {
        type,
        priority: integerIn(errors, 'priority', fields.priority, 0, 65535),
        weight: integerIn(errors, 'weight', fields.weight, 0, 65535),
        port: integerIn(errors, 'port', fields.port, 0, 65535),
        hostname: target(errors, fields.hostname, zone, { host: true, root: true }),
      };
    case 'TXT': {
      // An empty string is a valid TXT record.
      const value = typeof fields.value === 'string' ? fields.value : text(errors, 'value', fields.value);
      if (!errors.value && Buffer.byteLength(value) > MAX_TXT_BYTES) errors.value = [`A TXT value has at most ${MAX_TXT_BYTES} bytes.`];
      return { type, value };
    }
    case 'CAA': {
      const flags = integerIn(errors, 'flags', fields.flags ?? 0, 0, 255);
      if (!errors.flags && flags !== 0 && flags !== 128) errors.flags = ['Enter 0, or 128 (issuer critical).'];
      const tag = text(errors, 'tag', fields.tag).toLowerCase();
      if (!errors.tag && !CAA_TAGS.includes(tag)) errors.tag = [`"${tag}" is not a valid choice. Choose from: ${CAA_TAGS.join(', ')}.`];
      const value = typeof fields.value === 'string' ? fields.value : text(errors, 'value', fields.value);
      if (!errors.value && /[^\x20-\x7e]/.test(value)) errors.value = ['A CAA value is printable ASCII.'];
      else if (!errors.value && value.length > MAX_CAA_VALUE) errors.value = [`A CAA value has at most ${MAX_CAA_VALUE} characters.`];
      else if (!errors.value && !errors.tag && (tag === 'issue' || tag === 'issuewild' || tag === 'issuemail') && !CAA_ISSUE_VALUE.test(value)) {
        errors.value = ['Enter an issuer domain such as "letsencrypt.org", optionally followed by "; key=value" parameters, or ";" to allow no issuer.'];
      } else if (!errors.value && tag === 'iodef' && !/^(mailto:[^\s@]+@[^\s@]+|https?:\/\/\S+)$/i.test(value)) {
        errors.value = ['Enter a mailto: or http(s):// URL to report to.'];
      }
      return { type, flags, tag, value };
    }
  }
}

/** The fields of a record's data, without its type: what is stored and what the API shows. */
export function dataFields(data: RecordData): Record<string, unknown> {
  const { type: _type, ...fields } = data;
  return fields;
}

/** A TXT value as the strings of at most 255 bytes each that carry it (RFC 1035 3.3.14; RFC 7208 3.3). */
export function txtStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value);
  const strings: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) strings.push(bytes.subarray(i, i + 255));
  return strings.length ? strings : [Buffer.alloc(0)];
}

/** A character-string as a zone file writes it: quoted, with `"`, `\` and non-printable bytes escaped. */
export function quoted(bytes: Buffer): string {
  let out = '"';
  for (const byte of bytes) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${String(byte).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

const presentTarget = (name: string) => (name === '' ? '.' : fqdn(name));

/** A record's data in zone-file presentation (RDATA text), targets absolute. */
export function presentData(data: RecordData): string {
  switch (data.type) {
    case 'A':
    case 'AAAA':
      return data.ip;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return presentTarget(data.hostname);
    case 'MX':
      return `${data.priority} ${presentTarget(data.hostname)}`;
    case 'SRV':
      return `${data.priority} ${data.weight} ${data.port} ${presentTarget(data.hostname)}`;
    case 'TXT':
      return txtStrings(data.value).map(quoted).join(' ');
    case 'CAA':
      return `${data.flags} ${data.tag} ${quoted(Buffer.from(data.value))}`;
  }
}

/** Whether two records' data are the same (a zone never holds the same record twice). */
export function sameData(a: RecordData, b: RecordData): boolean {
  return presentData(a) === presentData(b);
}

export function isRecordType(value: unknown): value is RecordType {
  return typeof value === 'string' && (RECORD_TYPES as readonly string[]).includes(value);
}
