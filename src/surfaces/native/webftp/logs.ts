import { Type } from 'typebox';
import type { FileTransfer, TransferService } from '../../../core/transfers/transfer-service.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../pagination.ts';
import { renderServerSummary, renderUserSummary } from '../summaries.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, Nullable, Timestamp, Uuid } from '../wire/common.ts';
import { ServerSummaryBody, UserSummaryBody } from '../wire/summaries.ts';

const WebftpLogBody = Type.Object({
  id: Uuid,
  file_name: Type.String(),
  action: Type.String({ description: '`upload` or `download`.' }),
  kind: Type.String({ description: '`file`, or `folder` and `bulk` (downloaded as a zip).' }),
  path: Type.String(),
  size: Type.Integer({ description: 'Bytes moved; 0 until finished.' }),
  success: Type.Boolean({ description: 'false until the transfer has finished well (`finished_at` says whether it has finished).' }),
  message: Type.String(),
  user: Nullable(UserSummaryBody),
  server: Nullable(ServerSummaryBody),
  username: Type.String(),
  groupname: Type.String(),
  remote_ip: Type.String({ description: 'The address the transfer was asked from.' }),
  added_at: Timestamp,
  finished_at: Nullable(Timestamp),
});

const render = (t: FileTransfer) => ({
  id: t.id,
  file_name: t.name,
  action: t.direction,
  kind: t.kind,
  path: t.kind === 'bulk' ? t.paths.join(', ') : t.path,
  size: t.bytes ?? 0,
  success: t.success === true,
  message: t.message || (t.finishedAt ? '' : 'Waiting for its content.'),
  user: t.user && renderUserSummary(t.user),
  server: renderServerSummary(t.server),
  username: t.username,
  groupname: t.groupname,
  remote_ip: t.remoteIp,
  added_at: t.createdAt,
  finished_at: t.finishedAt,
});

/** `/api/history/webftp-logs/`: every file transfer of the acting organization and below, newest first, by cursor. */
export function webftpLogRoutes(app: FastifyTypeBox, transfers: TransferService): void {
  app.get('/api/history/webftp-logs/', {
    schema: {
      tags: ['webftp'],
      summary: 'File transfers into and out of servers, newest first (cursor pagination): who, from where, which file, how much, how it ended',
      querystring: listQuerySchema({
        server: Type.Optional(Type.String({ maxLength: 40 })),
        user: Type.Optional(Type.String({ maxLength: 40 })),
        action: Type.Optional(Type.String({ maxLength: 20 })),
      }),
      response: { 200: listResponseSchema(WebftpLogBody), ...commonErrors },
    },
    handler: async (request, reply) => {
      // A log pages by cursor only: offsets would shift as transfers are added.
      const listRequest = toListRequest({ ...request.query, cursor: request.query.cursor ?? '' });
      return sendList(request, reply, await transfers.list(request.actor, listRequest), render);
    },
  });
}
