import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/dns/zones/: what clients send and receive, in the native API's names. */

export const Ttl = (description: string) => Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description });

export const ZoneFields = {
  default_ttl: Ttl('TTL of records that set none (default 3600).'),
  primary_ns: Type.String({ maxLength: 254, description: "SOA primary name server (default: the deployment's first name server)." }),
  email: Type.String({ maxLength: 320, description: 'SOA contact (default hostmaster@<zone>).' }),
  refresh: Ttl('SOA refresh, seconds (default 10800).'),
  retry: Ttl('SOA retry, seconds (default 3600).'),
  expire: Ttl('SOA expire, seconds (default 1209600).'),
  minimum: Ttl('SOA minimum: how long resolvers cache a negative answer (default 300).'),
  secondaries: Type.Array(Type.String({ maxLength: 60 }), { maxItems: 10, description: 'Addresses (`192.0.2.1`, `192.0.2.1:5353`, `[2001:db8::1]:53`) notified of changes and allowed to transfer the zone (AXFR, IXFR).' }),
  server_records: Type.Boolean({ description: "Keep `<server>.<zone>` A records for the private addresses of this organization's servers." }),
};

export const ZoneBody = Type.Object({
  id: Uuid,
  name: Type.String({ examples: ['example.com'] }),
  ...ZoneFields,
  serial: Type.Integer({ description: 'SOA serial, YYYYMMDDnn, bumped by every change.' }),
  nameservers: Type.Array(Type.String(), { description: "The deployment's name servers: the zone's NS records." }),
  organization: Uuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const RecordGroups = Type.Record(Type.String(), Type.Array(Type.Object({}, { additionalProperties: true })), {
  description: 'Every record by type (ComputeStacks\' shape), the SOA and the NS records included.',
});
export const ZoneDetailBody = Type.Intersect([ZoneBody, Type.Object({ records: RecordGroups })]);

export const ZonePost = Type.Object({ name: Type.String({ maxLength: 254 }), ...Object.fromEntries(Object.entries(ZoneFields).map(([k, v]) => [k, Type.Optional(v)])) });
export const ZonePatch = Type.Partial(ZonePost);
