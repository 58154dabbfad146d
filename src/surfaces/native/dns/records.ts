import { Type, type TSchema } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { DnsRecord, ZoneDetail } from '../../../core/dns/model.ts';
import { fqdn, relativeName } from '../../../core/dns/names.ts';
import type { RecordData } from '../../../core/dns/record-types.ts';
import type { RecordService } from '../../../core/dns/record-service.ts';
import { expectedRevision, revisionEtag } from '../../../http/conventions/etag.ts';
import { baseUrl } from '../../../http/surface.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest, type ListQuery } from '../pagination.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { RecordBody, RecordParams, RecordPost, ReplaceBody, ZoneParams } from '../wire/dns-records.ts';

/** A record's type fields as shown: targets absolute with their final dot. */
function shownData(data: RecordData): Record<string, unknown> {
  const { type: _type, ...fields } = data;
  return 'hostname' in data ? { ...fields, hostname: data.hostname === '' ? '.' : fqdn(data.hostname) } : fields;
}

export function renderRecord(request: FastifyRequest, zone: { id: string; name: string }) {
  return (record: DnsRecord) => ({
    id: record.id,
    zone: zone.id,
    name: relativeName(record.name, zone.name),
    type: record.type,
    ttl: record.ttl,
    ...shownData(record.data),
    fqdn: fqdn(record.name),
    server: record.server_id,
    url: `${baseUrl(request)}/api/dns/zones/${zone.id}/records/${record.id}/`,
    created_at: record.created_at,
    updated_at: record.updated_at,
  });
}

/** `/api/dns/zones/<id>/records/`: a zone's records, one at a time or all at once. */
export function recordRoutes(app: FastifyTypeBox, records: RecordService, { renderZone, zoneBody }: { renderZone: (request: FastifyRequest) => (zone: ZoneDetail) => object; zoneBody: TSchema }): void {
  const tags = ['dns'];
  const collection = '/api/dns/zones/:id/records/';
  const item = `${collection}:record/`;
  const render = (request: FastifyRequest, zoneName: string, zoneId: string) => renderRecord(request, { id: zoneId, name: zoneName });

  app.get(collection, {
    schema: {
      tags,
      summary: "List a zone's records",
      params: ZoneParams,
      querystring: listQuerySchema({ type: Type.Optional(Type.String({ maxLength: 10 })), name: Type.Optional(Type.String({ maxLength: 300 })) }),
      response: { 200: listResponseSchema(RecordBody), ...commonErrors },
    },
    handler: async (request, reply) => {
      const { zone, result } = await records.list(request.actor, request.params.id, toListRequest(request.query as ListQuery));
      return sendList(request, reply, result, render(request, zone.name, zone.id));
    },
  });

  app.post(collection, {
    schema: { tags, summary: 'Add a record to a zone', params: ZoneParams, body: RecordPost, response: { 201: RecordBody, ...commonErrors } },
    handler: async (request, reply) => {
      const { zone, record } = await records.create(request.actor, request.params.id, request.body);
      reply.code(201).header('location', `${baseUrl(request)}/api/dns/zones/${zone.id}/records/${record.id}/`).header('etag', revisionEtag(record.id, record.revision));
      return render(request, zone.name, zone.id)(record);
    },
  });

  app.put(collection, {
    schema: { tags, summary: "Replace all of a zone's records in one change (one serial)", params: ZoneParams, body: ReplaceBody, response: { 200: zoneBody, ...commonErrors } },
    handler: async (request) => renderZone(request)(await records.replace(request.actor, request.params.id, request.body.records)),
  });

  app.get(item, {
    schema: { tags, summary: 'Retrieve a record', params: RecordParams, response: { 200: RecordBody, ...commonErrors } },
    handler: async (request, reply) => {
      const { zone, record } = await records.get(request.actor, request.params.id, request.params.record);
      reply.header('etag', revisionEtag(record.id, record.revision));
      return render(request, zone.name, zone.id)(record);
    },
  });

  for (const [method, partial] of [['PUT', false], ['PATCH', true]] as const) {
    app.route({
      method,
      url: item,
      schema: { tags, summary: partial ? 'Change some of a record\'s fields' : 'Replace a record', params: RecordParams, body: RecordPost, response: { 200: RecordBody, ...commonErrors } },
      handler: async (request, reply) => {
        const { id, record: recordId } = request.params;
        const { zone, record } = await records.update(request.actor, id, recordId, request.body, { partial, expectedRevision: expectedRevision(request, recordId) });
        reply.header('etag', revisionEtag(record.id, record.revision));
        return render(request, zone.name, zone.id)(record);
      },
    });
  }

  app.delete(item, {
    schema: { tags, summary: 'Delete a record', params: RecordParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await records.remove(request.actor, request.params.id, request.params.record, { expectedRevision: expectedRevision(request, request.params.record) });
      return reply.code(204).send(null);
    },
  });
}
