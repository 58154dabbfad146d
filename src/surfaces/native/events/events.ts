import { Type } from 'typebox';
import type { Event, EventService } from '../../../core/events/event-service.ts';
import { KEEP_ALIVE_MS, lastEventIdOf, sendEventStream, sseEvent } from '../../../http/event-stream.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../pagination.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { EventBody, EventFilters } from '../wire/events.ts';

const COLLECTION = '/api/events/events/';

export function renderEvent(e: Event) {
  return {
    id: e.id,
    type: e.type,
    organization: e.organizationId,
    actor: e.actor,
    resource: e.resourceType && e.resourceId ? { type: e.resourceType, id: e.resourceId } : null,
    data: e.data,
    request_id: e.requestId,
    created_at: e.createdAt,
  };
}

/** `/api/events/events/`: what changed, for the acting organization's subtree, as a list and as a live stream. */
export function eventRoutes(app: FastifyTypeBox, events: EventService): void {
  const tags = ['events'];

  app.get(COLLECTION, {
    schema: {
      tags,
      summary: 'List events, newest first (cursor pagination)',
      querystring: listQuerySchema({ ...EventFilters, resource_type: Type.Optional(Type.String({ maxLength: 100 })) }),
      response: { 200: listResponseSchema(EventBody), ...commonErrors },
    },
    handler: async (request, reply) => {
      // An append-only log is paged by cursor only: page numbers would shift as events arrive.
      const listRequest = toListRequest({ ...request.query, cursor: request.query.cursor ?? '' });
      return sendList(request, reply, await events.list(request.actor, listRequest), renderEvent);
    },
  });

  app.get(`${COLLECTION}stream/`, {
    schema: {
      tags,
      summary: 'Live stream of events (Server-Sent Events); resumes after `Last-Event-ID`',
      description: 'Each event is sent as `id: <id>`, `event: <type>`, `data: <the event as JSON>`. Without `Last-Event-ID` the stream starts with the next event; reconnect with the `Last-Event-ID` header (or `?last_event_id=`, `0` for everything kept) to resume without a gap or a duplicate.',
      querystring: Type.Object({ ...EventFilters, last_event_id: Type.Optional(Type.String({ maxLength: 20 })) }),
      response: { 200: Type.String({ description: 'text/event-stream' }), ...commonErrors },
    },
    handler: async (request, reply) => {
      const { type, resource } = request.query;
      const after = lastEventIdOf(request, 'id of the last event received') ?? null;
      await sendEventStream(
        request,
        reply,
        (signal) => events.follow(request.actor, { after, filters: { type, resource }, signal, idleMs: KEEP_ALIVE_MS }),
        (batch) => batch.map((e) => sseEvent(e.id, e.type, renderEvent(e))).join(''),
      );
    },
  });
}
