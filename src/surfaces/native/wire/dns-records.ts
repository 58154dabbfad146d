import { Type, type TSchema } from 'typebox';
import { RECORD_TYPES } from '../../../core/dns/record-types.ts';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/dns/zones/<id>/records/: what clients send and receive, in the native API's names. */

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Port16 = (description: string) => Type.Integer({ description });

/** A record's writable fields: its name, type, TTL and its type's own fields (ComputeStacks' names). */
export const RecordFields = {
  name: Type.String({ maxLength: 300, description: 'Relative to the zone (`www`, `@` for the zone itself), or absolute with a final dot (`www.example.com.`).' }),
  type: Type.String({ maxLength: 10, description: RECORD_TYPES.join(', ') }),
  ttl: Nullable(Type.Integer({ description: "Seconds; null: the zone's default TTL." })),
  ip: Type.String({ maxLength: 64, description: 'A, AAAA: the address.' }),
  hostname: Type.String({ maxLength: 300, description: 'CNAME, NS, PTR, MX, SRV: the target (relative to the zone unless it ends with a dot; `.` for a null MX or SRV).' }),
  priority: Port16('MX, SRV: 0 to 65535.'),
  weight: Port16('SRV: 0 to 65535.'),
  port: Port16('SRV: 0 to 65535.'),
  value: Type.String({ maxLength: 8192, description: 'TXT: the text (longer than 255 bytes, it is sent as several strings); CAA: the property value.' }),
  flags: Type.Integer({ description: 'CAA: 0, or 128 (issuer critical).' }),
  tag: Type.String({ maxLength: 20, description: 'CAA: issue, issuewild, iodef, issuemail, issuevmc, contactemail or contactphone.' }),
};
export const optional = <T extends Record<string, TSchema>>(fields: T) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof T]: ReturnType<typeof Type.Optional<T[K]>> };

export const RecordBody = Type.Object({
  id: Uuid,
  zone: Uuid,
  ...optional(RecordFields),
  name: Type.String(),
  type: Type.String(),
  fqdn: Type.String({ description: 'The absolute name, with its final dot.' }),
  server: Nullable(Uuid),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export const RecordPost = Type.Object(optional(RecordFields));
export const ReplaceBody = Type.Object({ records: Type.Array(RecordPost, { description: "Every record the zone will hold (the servers' records stay)." }) });
export const RecordParams = Type.Object({ id: Type.String({ maxLength: 200 }), record: Type.String({ maxLength: 200 }) });
export const ZoneParams = Type.Object({ id: Type.String({ maxLength: 200 }) });
