import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { DnsServices } from '../../../core/dns/dns-services.ts';
import type { Zone, ZoneDetail } from '../../../core/dns/model.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest, type ListQuery } from '../pagination.ts';
import { fqdn } from '../../../core/dns/names.ts';
import { RECORD_TYPES } from '../../../core/dns/record-types.ts';
import { resourceUrl } from '../compute/shared.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { recordRoutes, renderRecord } from './records.ts';
import { ZoneBody, ZoneDetailBody, ZonePatch, ZonePost } from '../wire/dns-zones.ts';

export const ZONES = '/api/dns/zones/';

function renderZone(request: FastifyRequest) {
  return (zone: Zone) => ({
    id: zone.id,
    name: zone.name,
    default_ttl: zone.default_ttl,
    primary_ns: fqdn(zone.primary_ns),
    email: zone.email,
    refresh: zone.refresh,
    retry: zone.retry,
    expire: zone.expire,
    minimum: zone.minimum,
    secondaries: zone.secondaries,
    server_records: zone.server_records,
    serial: zone.serial,
    nameservers: zone.nameservers.map(fqdn),
    organization: zone.organization_id,
    url: resourceUrl(request, ZONES, zone.id),
    created_at: zone.created_at,
    updated_at: zone.updated_at,
  });
}

/** A zone and its records grouped by type, every supported type present, SOA and NS included. */
function renderDetail(request: FastifyRequest) {
  const zoneOf = renderZone(request);
  return (zone: ZoneDetail) => {
    const groups: Record<string, object[]> = Object.fromEntries([...RECORD_TYPES, 'SOA'].sort().map((t) => [t, []]));
    groups.SOA!.push({ name: '@', type: 'SOA', ttl: zone.default_ttl, primary_ns: fqdn(zone.primary_ns), email: zone.email, serial: zone.serial, refresh: zone.refresh, retry: zone.retry, expire: zone.expire, minimum: zone.minimum });
    for (const hostname of zone.nameservers) groups.NS!.push({ name: '@', type: 'NS', ttl: zone.default_ttl, hostname: fqdn(hostname), managed: true });
    const render = renderRecord(request, zone);
    for (const record of zone.records) groups[record.type]!.push(render(record));
    return { ...zoneOf(zone), records: groups };
  };
}

/** `/api/dns/zones/`: the zones of the acting organization and its sub-organizations, and their records. */
export function dnsRoutes(app: FastifyTypeBox, { dns }: { dns: DnsServices }): void {
  const { zones, records } = dns;
  const tags = ['dns'];

  app.get(ZONES, {
    schema: { tags, summary: 'List DNS zones (without their records)', querystring: listQuerySchema({ name: Type.Optional(Type.String({ maxLength: 254 })) }), response: { 200: listResponseSchema(ZoneBody), ...commonErrors } },
    handler: async (request, reply) => sendList(request, reply, await zones.list(request.actor, toListRequest(request.query as ListQuery)), renderZone(request)),
  });

  collectionRoutes<ZoneDetail, {}, typeof ZonePost, typeof ZonePatch>(app, {
    path: ZONES,
    tags,
    errors: commonErrors,
    item: ZoneDetailBody,
    render: renderDetail,
    revisions: true,
    create: { summary: 'Create a DNS zone', body: ZonePost, location: true, run: async (actor, body) => ({ row: await zones.create(actor, body) }) },
    retrieve: { summary: 'Retrieve a DNS zone with its records, grouped by type', run: zones.get },
    update: { summary: "Change a zone's SOA fields, secondaries or server records", body: ZonePatch, replace: { summary: "Replace a zone's settings", body: ZonePatch }, run: (actor, id, body, options) => zones.update(actor, id, body, options) },
    remove: { summary: 'Delete a DNS zone and its records', ifMatch: true, run: zones.remove },
  });

  app.get(`${ZONES}:id/export/`, {
    schema: { tags, summary: 'The zone as an RFC 1035 zone file (text/dns)', params: IdParams, response: { 200: Type.String(), ...commonErrors } },
    handler: async (request, reply) => {
      const { name, content } = await records.exportZoneFile(request.actor, request.params.id);
      return reply.type('text/dns; charset=utf-8').header('content-disposition', `attachment; filename="${name}.zone"`).send(content);
    },
  });

  app.post(`${ZONES}:id/import/`, {
    schema: {
      tags,
      summary: "Replace the zone's records with a zone file's (its SOA timers and $TTL too; the apex NS records stay the deployment's)",
      params: IdParams,
      body: Type.Object({ zone_file: Type.String({ maxLength: 1024 * 1024, description: 'RFC 1035 zone file text.' }) }),
      response: { 200: ZoneDetailBody, ...commonErrors },
    },
    handler: async (request) => renderDetail(request)(await records.importZoneFile(request.actor, request.params.id, request.body.zone_file)),
  });

  recordRoutes(app, records, { renderZone: renderDetail, zoneBody: ZoneDetailBody });
}
