import { Type } from 'typebox';
import type { AuditEvent } from '../../../core/audit/audit-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../pagination.ts';
import { commonErrors } from '../wire/common.ts';
import { renderUserSummary } from '../summaries.ts';
import type { FastifyTypeBox } from '../types.ts';
import { EventBody } from '../wire/activity.ts';

const render = (e: AuditEvent) => ({
  id: e.id,
  action: e.action,
  organization: e.organizationId,
  user: e.user && renderUserSummary(e.user),
  username: e.actorUsername,
  target_type: e.targetType,
  target_id: e.targetId,
  request_id: e.requestId,
  client_address: e.clientAddress,
  detail: e.detail,
  created_at: e.createdAt,
  // Alpacon's names, beside Nimbus's own.
  ip: e.clientAddress,
  app: e.targetType,
  model: e.targetType,
  description: e.action,
  added_at: e.createdAt,
});

/** `/api/audit/activity/`: authentication and authorization events, newest first, by cursor. */
export function auditRoutes(app: FastifyTypeBox, { audit }: Pick<CoreServices, 'audit'>): void {
  app.get('/api/audit/activity/', {
    schema: {
      tags: ['audit'],
      summary: 'Audit events of the acting organization and below (cursor pagination)',
      querystring: listQuerySchema({
        action: Type.Optional(Type.String({ maxLength: 50 })),
        user: Type.Optional(Type.String({ maxLength: 200 })),
        target_id: Type.Optional(Type.String({ maxLength: 200 })),
      }),
      response: { 200: listResponseSchema(EventBody), ...commonErrors },
    },
    handler: async (request, reply) => {
      // An append-only stream pages by cursor only: offsets would shift as events arrive.
      const listRequest = toListRequest({ ...request.query, cursor: request.query.cursor ?? '' });
      return sendList(request, reply, await audit.list(request.actor, listRequest), render);
    },
  });
}
