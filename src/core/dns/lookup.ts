import { isAtOrBelow, parentOf } from './names.ts';
import type { Rr, RrSet, ZoneSnapshot } from './snapshot.ts';

export type Rcode = 'NOERROR' | 'NXDOMAIN';

/** An answer from one zone (RFC 1034 4.3.2), before it is put on the wire. */
export interface Answer {
  rcode: Rcode;
  /** False for a referral to a delegated name. */
  authoritative: boolean;
  answers: Rr[];
  authorities: Rr[];
  additionals: Rr[];
}

/** CNAMEs followed inside one zone before giving up (a loop, or a chain nobody should have). */
const MAX_CHAIN = 16;
/** Types whose targets get their addresses in the additional section. */
const TARGET_TYPES = new Set(['MX', 'SRV', 'NS']);

const rrsOf = (name: string, set: RrSet): Rr[] => set.data.map((data) => ({ name, ttl: set.ttl, data }));

/**
 * Answers `qname`/`qtype` from `zone` (which holds `qname`): delegations give referrals;
 * existing names their records, or NODATA; CNAMEs are followed while they stay in the zone;
 * wildcards stand for names that do not exist; anything else is NXDOMAIN. Negative answers
 * carry the SOA in the authority section.
 */
export function lookup(zone: ZoneSnapshot, qname: string, qtype: string): Answer {
  const answers: Rr[] = [];
  const seen = new Set<string>();
  let name = qname;
  for (;;) {
    const cut = delegationAbove(zone, name);
    if (cut) {
      // A referral ends the chain; the CNAMEs that led here stay in the answer.
      const ns = zone.nodes.get(cut)!.get('NS')!;
      const authorities = rrsOf(cut, ns);
      return { rcode: 'NOERROR', authoritative: answers.length > 0, answers, authorities, additionals: addressesFor(zone, authorities, { glue: true }) };
    }
    const node = zone.nodes.get(name) ?? wildcardFor(zone, name);
    if (!node) return negative(zone, answers, zone.names.has(name) ? 'NOERROR' : 'NXDOMAIN');
    if (qtype === 'ANY') {
      for (const [, set] of node) answers.push(...rrsOf(name, set));
      return positive(zone, answers);
    }
    const set = node.get(qtype);
    if (set) {
      answers.push(...rrsOf(name, set));
      return positive(zone, answers);
    }
    const cname = node.get('CNAME');
    if (!cname) return negative(zone, answers, 'NOERROR');
    answers.push(...rrsOf(name, cname));
    seen.add(name);
    const target = (cname.data[0] as { hostname: string }).hostname;
    // Outside the zone (or round in a loop) the client follows the chain itself.
    if (!isAtOrBelow(target, zone.name) || seen.has(target) || seen.size >= MAX_CHAIN) return positive(zone, answers);
    name = target;
  }
}

function positive(zone: ZoneSnapshot, answers: Rr[]): Answer {
  return { rcode: 'NOERROR', authoritative: true, answers, authorities: [], additionals: addressesFor(zone, answers, { glue: false }) };
}

function negative(zone: ZoneSnapshot, answers: Rr[], rcode: Rcode): Answer {
  return { rcode, authoritative: true, answers, authorities: [{ ...zone.soa, ttl: zone.negativeTtl }], additionals: [] };
}

/** The highest delegation at or above `name` (below the apex), if any. */
function delegationAbove(zone: ZoneSnapshot, name: string): string | null {
  if (zone.delegations.size === 0) return null;
  let found: string | null = null;
  for (let n: string | null = name; n !== null && n !== zone.name && isAtOrBelow(n, zone.name); n = parentOf(n)) {
    if (zone.delegations.has(n)) found = n;
  }
  return found;
}

/**
 * The records a wildcard gives a name that does not exist (RFC 4592): `*.<closest encloser>`,
 * where the closest encloser is the nearest existing ancestor.
 */
function wildcardFor(zone: ZoneSnapshot, name: string): Map<string, RrSet> | undefined {
  if (zone.names.has(name)) return undefined;
  let encloser = parentOf(name);
  while (encloser !== null && !zone.names.has(encloser)) encloser = parentOf(encloser);
  return encloser === null ? undefined : zone.nodes.get(`*.${encloser}`);
}

/** A and AAAA records of the zone for the targets of MX, SRV and NS records (glue: also below a delegation). */
function addressesFor(zone: ZoneSnapshot, records: Rr[], { glue }: { glue: boolean }): Rr[] {
  const additionals: Rr[] = [];
  const done = new Set<string>();
  for (const rr of records) {
    if (!TARGET_TYPES.has(rr.data.type)) continue;
    const target = (rr.data as { hostname: string }).hostname;
    if (done.has(target) || !isAtOrBelow(target, zone.name) || (!glue && delegationAbove(zone, target))) continue;
    done.add(target);
    const node = zone.nodes.get(target);
    for (const type of ['A', 'AAAA']) {
      const set = node?.get(type);
      if (set) additionals.push(...rrsOf(target, set));
    }
  }
  return additionals;
}
