import { absoluteName, fqdn, relativeName } from './names.ts';
import { isRecordType, presentData, type RecordFields, type RecordType, type RecordData } from './record-types.ts';

/**
 * RFC 1035 master files ("zone files"): reading one into records (section 5.1: `$ORIGIN`,
 * `$TTL`, `@`, relative names, a blank owner repeating the last one, parentheses over several
 * lines, `;` comments, quoted strings with `\X` and `\DDD` escapes, TTLs with BIND's unit
 * letters), and writing a zone out.
 */

/** One record read from a file, its fields not yet validated (the record rules do that). */
export interface ParsedRecord {
  line: number;
  /** Absolute, with the final dot: relative names were resolved against `$ORIGIN`. */
  name: string;
  type: RecordType;
  /** Null: the file's first `$TTL` (the zone's default TTL). */
  ttl: number | null;
  fields: RecordFields;
}

/** The SOA a file held, names absolute with the final dot. */
export interface ParsedSoa {
  primaryNs: string;
  email: string;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
  ttl: number | null;
}

export interface ParsedZoneFile {
  records: ParsedRecord[];
  soa: ParsedSoa | null;
  /** The file's first `$TTL`, when it set one: records without a TTL of their own get it (null). */
  defaultTtl: number | null;
  /** Lines with a problem, `line N: ...`. */
  errors: string[];
}

interface Token {
  /** With its escapes resolved. */
  text: string;
  /** As written (an SOA contact's `\.` matters). */
  raw: string;
  quoted: boolean;
}

interface Entry {
  line: number;
  /** The first token was at the start of the line (an owner); otherwise the owner repeats. */
  hasOwner: boolean;
  tokens: Token[];
}

class SyntaxProblem extends Error {}

/** Splits the file into entries: one per logical line (parentheses join physical lines). */
function entriesOf(source: string): { entries: Entry[]; errors: string[] } {
  const entries: Entry[] = [];
  const errors: string[] = [];
  let current: Entry | null = null;
  let depth = 0;
  const lines = source.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    const number = index + 1;
    if (depth === 0) current = { line: number, hasOwner: line.length > 0 && !/^[ \t]/.test(line), tokens: [] };
    try {
      depth = tokenize(line, current!.tokens, depth);
    } catch (error) {
      if (!(error instanceof SyntaxProblem)) throw error;
      errors.push(`line ${number}: ${error.message}`);
      depth = 0;
      current = null;
      continue;
    }
    if (depth === 0 && current!.tokens.length) entries.push(current!);
  }
  if (depth > 0) errors.push(`line ${current!.line}: the parenthesis opened here is never closed.`);
  return { entries, errors };
}

/** Adds one physical line's tokens; returns the parenthesis depth after it. */
function tokenize(line: string, tokens: Token[], depth: number): number {
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') i++;
    else if (c === ';') break;
    else if (c === '(') (depth++, i++);
    else if (c === ')') {
      if (depth === 0) throw new SyntaxProblem('a ")" closes no "(".');
      depth--;
      i++;
    } else {
      const quoted = c === '"';
      const start = i;
      let text = '';
      if (quoted) i++;
      for (;;) {
        if (i >= line.length) {
          if (quoted) throw new SyntaxProblem('a quoted string is not closed on its line.');
          break;
        }
        const ch = line[i]!;
        if (quoted ? ch === '"' : /[ \t;()]/.test(ch)) {
          if (quoted) i++;
          break;
        }
        if (ch === '\\') {
          const digits = /^\d{3}/.exec(line.slice(i + 1));
          if (digits) {
            if (Number(digits[0]) > 255) throw new SyntaxProblem(`\\${digits[0]} is not a byte.`);
            text += String.fromCharCode(Number(digits[0]));
            i += 4;
          } else if (i + 1 < line.length) {
            text += line[i + 1];
            i += 2;
          } else {
            throw new SyntaxProblem('a line ends with a lone "\\".');
          }
          continue;
        }
        text += ch;
        i++;
      }
      tokens.push({ text, raw: line.slice(start, i), quoted });
    }
  }
  return depth;
}

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const MAX_TTL = 2 ** 31 - 1;

/** `3600`, or BIND's `1h30m`; null when the token is not a TTL. */
export function parseTtl(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text) <= MAX_TTL ? Number(text) : null;
  if (!/^(\d+[smhdw])+$/i.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.toLowerCase().matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * TTL_UNITS[unit!]!;
  return total <= MAX_TTL ? total : null;
}

/** Reads a zone file for `zone`; names resolve against `$ORIGIN`, which starts as the zone. */
export function parseZoneFile(source: string, zone: string): ParsedZoneFile {
  const { entries, errors } = entriesOf(source);
  const records: ParsedRecord[] = [];
  let origin = zone;
  let defaultTtl: number | null = null;
  let currentTtl: number | null = null;
  let soa: ParsedSoa | null = null;
  let lastOwner: string | null = null;

  for (const entry of entries) {
    const problem = (message: string) => errors.push(`line ${entry.line}: ${message}`);
    const tokens = entry.tokens.map((t) => t.text);
    const first = tokens[0]!;
    if (entry.hasOwner && !entry.tokens[0]!.quoted && first.startsWith('$')) {
      const directive = first.toUpperCase();
      if (directive === '$ORIGIN' && tokens.length === 2 && tokens[1]!.endsWith('.')) origin = absoluteName(tokens[1]!, origin);
      else if (directive === '$ORIGIN') problem('$ORIGIN takes one absolute name (ending with a dot).');
      else if (directive === '$TTL' && tokens.length === 2 && parseTtl(tokens[1]!) !== null) {
        currentTtl = parseTtl(tokens[1]!);
        defaultTtl ??= currentTtl;
      }
      else if (directive === '$TTL') problem('$TTL takes one TTL, in seconds or with units (1h30m).');
      else problem(`${first} is not supported (only $ORIGIN and $TTL are).`);
      continue;
    }
    let rest = tokens;
    let owner: string | null;
    if (entry.hasOwner) {
      owner = fqdn(absoluteName(rest[0]!, origin));
      rest = rest.slice(1);
    } else {
      owner = lastOwner;
    }
    if (owner === null) {
      problem('the first record has no owner name.');
      continue;
    }
    lastOwner = owner;
    // [TTL] [class] type, or [class] [TTL] type.
    let ttl: number | null = null;
    for (let k = 0; k < 2 && rest.length; k++) {
      if (rest[0]!.toUpperCase() === 'IN') rest = rest.slice(1);
      else if (ttl === null && parseTtl(rest[0]!) !== null) (ttl = parseTtl(rest[0]!), (rest = rest.slice(1)));
    }
    const type = rest[0]?.toUpperCase() ?? '';
    const rdata = rest.slice(1);
    const name = (text: string) => fqdn(absoluteName(text, origin));
    const number = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? Number(text) : text);
    if (['CH', 'HS', 'CS'].includes(type)) {
      problem('only class IN is supported.');
      continue;
    }
    if (type === 'SOA') {
      const timers = rdata.slice(3).map(parseTtl);
      if (rdata.length !== 7 || timers.some((t) => t === null) || parseTtl(rdata[2]!) === null) {
        problem('an SOA takes a primary name server, a contact, a serial, refresh, retry, expire and minimum.');
        continue;
      }
      if (owner !== fqdn(zone)) {
        problem(`the SOA belongs to the zone apex (${fqdn(zone)}).`);
        continue;
      }
      soa = { primaryNs: name(rdata[0]!), email: mailboxToEmail(name(entry.tokens[entry.tokens.length - 6]!.raw)), refresh: timers[0]!, retry: timers[1]!, expire: timers[2]!, minimum: timers[3]!, ttl };
      continue;
    }
    if (!isRecordType(type)) {
      problem(type ? `${type} records are not supported (supported: A, AAAA, CNAME, MX, TXT, SRV, CAA, NS, PTR).` : 'a record type is missing.');
      continue;
    }
    const fields = fieldsOf(type, rdata, entry.tokens.slice(entry.tokens.length - rdata.length), name, number);
    if (typeof fields === 'string') {
      problem(fields);
      continue;
    }
    records.push({ line: entry.line, name: owner, type, ttl: ttl ?? (currentTtl === defaultTtl ? null : currentTtl), fields });
  }
  return { records, soa, defaultTtl, errors };
}

/** A type's fields from its RDATA tokens, or why they do not fit. */
function fieldsOf(type: RecordType, rdata: string[], tokens: Token[], name: (t: string) => string, number: (t: string | undefined) => unknown): RecordFields | string {
  const count = (n: number, shape: string) => (rdata.length === n ? null : `a ${type} record takes ${shape}.`);
  switch (type) {
    case 'A':
    case 'AAAA':
      return count(1, 'one address') ?? { ip: rdata[0] };
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return count(1, 'one name') ?? { hostname: name(rdata[0]!) };
    case 'MX':
      return count(2, 'a priority and a host name') ?? { priority: number(rdata[0]), hostname: name(rdata[1]!) };
    case 'SRV':
      return count(4, 'a priority, a weight, a port and a target') ?? { priority: number(rdata[0]), weight: number(rdata[1]), port: number(rdata[2]), hostname: name(rdata[3]!) };
    case 'CAA':
      return count(3, 'flags, a tag and a value') ?? { flags: number(rdata[0]), tag: rdata[1], value: rdata[2] };
    case 'TXT':
      // Its strings make one value (RFC 7208 3.3): a long value is written as several strings.
      if (rdata.length === 0) return 'a TXT record takes at least one string.';
      return { value: Buffer.from(tokens.map((t) => t.text).join(''), 'latin1').toString('utf8') };
  }
}

/** SOA RNAME (`hostmaster.example.com.`) as an address (`hostmaster@example.com`); an escaped dot stays in the local part. */
export function mailboxToEmail(mailbox: string): string {
  const name = mailbox.replace(/\.$/, '');
  const dot = /(?<!\\)\./.exec(name)?.index ?? -1;
  const local = (dot < 0 ? name : name.slice(0, dot)).replaceAll('\\.', '.');
  return dot < 0 ? local : `${local}@${name.slice(dot + 1)}`;
}

/** An address as SOA RNAME, with the final dot (dots in the local part escaped). */
export function emailToMailbox(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, at).replaceAll('.', '\\.')}.${email.slice(at + 1)}.`;
}

/** What a zone file is written from. */
export interface ZoneFileSource {
  name: string;
  defaultTtl: number;
  soa: { primaryNs: string; email: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
  nameservers: string[];
  records: { name: string; ttl: number | null; data: RecordData }[];
}

/** The zone as a file another server (or Nimbus's own import) reads back. */
export function writeZoneFile(zone: ZoneFileSource): string {
  const owner = (name: string) => relativeName(name, zone.name).padEnd(24);
  const line = (name: string, ttl: number | null, type: string, data: string) => `${owner(name)} ${ttl === null ? '' : `${ttl} `}IN ${type.padEnd(5)} ${data}`;
  const { soa } = zone;
  return [
    `$ORIGIN ${fqdn(zone.name)}`,
    `$TTL ${zone.defaultTtl}`,
    line(zone.name, null, 'SOA', `${fqdn(soa.primaryNs)} ${emailToMailbox(soa.email)} ${soa.serial} ${soa.refresh} ${soa.retry} ${soa.expire} ${soa.minimum}`),
    ...zone.nameservers.map((ns) => line(zone.name, null, 'NS', fqdn(ns))),
    ...zone.records.map((r) => line(r.name, r.ttl, r.data.type, presentData(r.data))),
    '',
  ].join('\n');
}
