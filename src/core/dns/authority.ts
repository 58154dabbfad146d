import type { DnsCatalog } from './catalog.ts';
import { lookup, type Answer } from './lookup.ts';
import type { Rr } from './snapshot.ts';

const MAX_CACHED_ANSWERS = 10_000;

/** A zone transfer's outcome: the records to send (SOA first and last), or why not. */
export type Transfer = { outcome: 'refused' } | { outcome: 'records'; records: Rr[] };

/** Whether serial `a` is at or past `b` in RFC 1982 serial number arithmetic. */
export function serialAtLeast(a: number, b: number): boolean {
  const distance = (a - b + 2 ** 32) % 2 ** 32;
  return distance < 2 ** 31;
}

/** What the DNS server asks core: answers to questions and zone transfers, from the cached zones. */
export function createDnsAuthority(catalog: Pick<DnsCatalog, 'zoneFor'>) {
  /**
   * The answer to a question, or null when no zone here holds the name (REFUSED). The same
   * question gets the same object until its zone changes, so the server can keep its encoding.
   */
  async function answer(qname: string, qtype: string): Promise<Answer | null> {
    const name = normalize(qname);
    const zone = await catalog.zoneFor(name);
    if (!zone) return null;
    const key = `${name} ${qtype}`;
    let found = zone.answers.get(key) as Answer | undefined;
    if (!found) {
      // Bounded: questions for names that do not exist could otherwise grow it without end.
      if (zone.answers.size >= MAX_CACHED_ANSWERS) zone.answers.clear();
      found = lookup(zone, name, qtype);
      zone.answers.set(key, found);
    }
    return found;
  }

  /**
   * AXFR, or IXFR from `fromSerial`: a secondary of the zone gets all of it (Nimbus keeps no
   * history, so an IXFR is answered with the whole zone, as RFC 1995 4 allows), or only the
   * SOA when it is already current. Anyone else, and any other name, is refused.
   */
  async function transfer(zoneName: string, client: string, fromSerial?: number): Promise<Transfer> {
    const name = normalize(zoneName);
    const zone = await catalog.zoneFor(name);
    if (!zone || zone.name !== name || !zone.transferAllowed.has(client)) return { outcome: 'refused' };
    if (fromSerial !== undefined && serialAtLeast(fromSerial, zone.serial)) return { outcome: 'records', records: [zone.soa] };
    return { outcome: 'records', records: [...zone.all, zone.soa] };
  }

  return { answer, transfer };
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export type DnsAuthority = ReturnType<typeof createDnsAuthority>;
