import type { Answer as PacketRecord } from 'dns-packet';
import { txtStrings } from '../../core/dns/record-types.ts';
import type { Rr } from '../../core/dns/snapshot.ts';
import { emailToMailbox } from '../../core/dns/zone-file.ts';

/** A name as dns-packet writes it: the root is `.`. */
const wireName = (name: string) => name || '.';

/** A record of core's as dns-packet encodes it. */
export function toPacketRecord(rr: Rr): PacketRecord {
  const common = { name: wireName(rr.name), ttl: rr.ttl, class: 'IN' as const };
  const data = rr.data;
  switch (data.type) {
    case 'A':
    case 'AAAA':
      return { ...common, type: data.type, data: data.ip };
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return { ...common, type: data.type, data: wireName(data.hostname) };
    case 'MX':
      return { ...common, type: 'MX', data: { preference: data.priority, exchange: wireName(data.hostname) } };
    case 'SRV':
      return { ...common, type: 'SRV', data: { priority: data.priority, weight: data.weight, port: data.port, target: wireName(data.hostname) } };
    case 'TXT':
      return { ...common, type: 'TXT', data: txtStrings(data.value) };
    case 'CAA':
      return { ...common, type: 'CAA', data: { flags: data.flags, tag: data.tag as 'issue', value: data.value } };
    case 'SOA':
      return {
        ...common,
        type: 'SOA',
        data: { mname: wireName(data.primaryNs), rname: emailToMailbox(data.email).slice(0, -1), serial: data.serial, refresh: data.refresh, retry: data.retry, expire: data.expire, minimum: data.minimum },
      };
  }
}
