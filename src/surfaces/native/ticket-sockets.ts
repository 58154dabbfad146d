import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { baseUrl } from '../../http/surface.ts';
import type { FastifyTypeBox } from './types.ts';
import { IdParams } from './wire/common.ts';

/**
 * The WebSocket URL a ticket opens: `ws://` or `wss://` as the request came in, the channel id
 * in the path and the one-time token as the socket's only credential (browsers cannot set
 * headers on a WebSocket).
 */
export function ticketSocketUrl(request: FastifyRequest, prefix: string, channelId: string, token: string): string {
  return `${baseUrl(request).replace(/^http/, 'ws')}${prefix}${channelId}/?token=${encodeURIComponent(token)}`;
}

/**
 * `GET <prefix>:id/?token=`: a WebSocket whose credential is a ticket's one-time token. The token
 * is spent before the upgrade, so a refused one is an HTTP error in the native shape that the
 * client sees; `open` is then called with what `connect` answered.
 */
export function ticketSocketRoute<Ticket>(
  app: FastifyTypeBox,
  prefix: string,
  connect: (channelId: string, token: string) => Promise<Ticket>,
  open: (socket: WebSocket, ticket: Ticket, request: FastifyRequest) => void,
): void {
  const connected = new WeakMap<FastifyRequest, Ticket>();
  app.route({
    method: 'GET',
    url: `${prefix}:id/`,
    config: { auth: false },
    schema: { hide: true, params: IdParams, querystring: Type.Object({ token: Type.String({ maxLength: 100 }) }) },
    preValidation: async (request) => {
      const { id } = request.params as { id: string };
      const { token } = (request.query ?? {}) as { token?: string };
      connected.set(request, await connect(id, token ?? ''));
    },
    wsHandler: (socket, request) => open(socket, connected.get(request)!, request),
    handler: async (_request, reply) => reply.code(426).send({ detail: 'This is a WebSocket: connect with an Upgrade.', code: 'upgrade_required' }),
  });
}
