import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Attachment, Viewer } from '../../../core/websh/live-terminals.ts';
import { TERMINAL_SIZE, type WebshService, type WebshSession, type WebshTicket } from '../../../core/websh/websh-service.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { renderServerSummary, renderUserSummary } from '../summaries.ts';
import { ticketSocketRoute, ticketSocketUrl } from '../ticket-sockets.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, computeErrors, IdParams } from '../wire/common.ts';
import { WebshJoinPost, WebshSessionBody, WebshSessionsPost, WebshShareBody, WebshSharePost, WebshTicketBody } from '../wire/websh.ts';

const SESSIONS = '/api/websh/sessions/';
const CHANNELS = '/api/websh/user-channels/';
const SOCKETS = '/ws/websh/';

/** Close codes: Alpacon's 4000 when the shell ended; a viewer too slow to keep up, or whose credential no longer stands; the terminal could not open. */
const CLOSE_ENDED = 4000;
const CLOSE_POLICY = 1008;
const CLOSE_FAILED = 1011;
const CLOSE_BAD_MESSAGE = 1007;
/** A close frame's reason holds at most 123 bytes. */
const closeReason = (text: string) => Buffer.from(text).subarray(0, 123).toString('utf8').replace(/\uFFFD$/, '');

const NO_USER = { id: '', name: '', email: '' };

const renderSession = (s: WebshSession) => ({
  id: s.id,
  rows: s.rows,
  cols: s.cols,
  server: renderServerSummary(s.server),
  user: s.user ? renderUserSummary(s.user) : NO_USER,
  username: s.username,
  groupname: s.groupname,
  user_agent: s.userAgent,
  remote_ip: s.remoteIp,
  is_tunnel: false,
  client_type: 'cli',
  added_at: s.createdAt,
  updated_at: s.closedAt ?? s.startedAt ?? s.createdAt,
  started_at: s.startedAt,
  closed_at: s.closedAt,
  exit_code: s.exitCode,
  success: s.exitCode === 0,
});

const renderTicket = (request: FastifyRequest, t: WebshTicket) => ({
  ...renderSession(t.session),
  websocket_url: ticketSocketUrl(request, SOCKETS, t.channelId, t.token),
  read_only: t.readOnly,
});

const ResizeMessage = { rows: TERMINAL_SIZE, cols: TERMINAL_SIZE };

/** A text frame's resize, or undefined when it is not one this protocol knows. */
function parseResize(text: string): { rows: number; cols: number } | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { type, rows, cols } = (message ?? {}) as Record<string, unknown>;
  const fits = (value: unknown, range: { min: number; max: number }) => Number.isInteger(value) && (value as number) >= range.min && (value as number) <= range.max;
  return type === 'resize' && fits(rows, ResizeMessage.rows) && fits(cols, ResizeMessage.cols) ? { rows: rows as number, cols: cols as number } : undefined;
}

/** What the terminal does to the socket: its bytes, and the end of the session. */
function socketViewer(socket: WebSocket): Viewer {
  return {
    send: (chunk, sent) => socket.send(chunk, { binary: true }, () => sent()),
    end: (reason, message) => {
      const code = reason === 'ended' ? CLOSE_ENDED : reason === 'overloaded' || reason === 'denied' ? CLOSE_POLICY : CLOSE_FAILED;
      socket.close(code, closeReason(message ?? (reason === 'ended' ? 'The session ended.' : 'The terminal could not keep this connection up to date.')));
    },
  };
}

/**
 * `/api/websh/`: Alpacon's web shell. A session is opened on a running server and answered with
 * the WebSocket URL of its terminal; the socket itself (`/ws/websh/<channel>/`) carries no
 * credential but the URL's one-time token.
 */
export function webshRoutes(app: FastifyTypeBox, websh: WebshService): void {
  const tags = ['websh'];

  collectionRoutes(app, {
    path: SESSIONS,
    tags,
    errors: commonErrors,
    item: WebshSessionBody,
    render: () => renderSession,
    list: {
      summary: 'List web shell sessions, newest first',
      filters: { server: Type.Optional(Type.String({ maxLength: 40 })), user: Type.Optional(Type.String({ maxLength: 40 })), is_connectable: Type.Optional(Type.String({ maxLength: 5 })) },
      run: websh.list,
    },
    retrieve: { summary: 'Retrieve a web shell session: who opened it, on which server, as whom, when it started and ended', run: websh.get },
  });

  app.post(SESSIONS, {
    schema: { tags, summary: "Open a web shell on a running server: the session and its terminal's one-time WebSocket URL", body: WebshSessionsPost, response: { 201: WebshTicketBody, ...computeErrors } },
    handler: async (request, reply) => {
      const { server, rows, cols, username, groupname } = request.body;
      const ticket = await websh.open(request.actor, { server, rows, cols, username, groupname, userAgent: request.headers['user-agent'] ?? '' });
      reply.code(201).header('location', `${baseUrl(request)}${SESSIONS}${ticket.session.id}/`);
      return renderTicket(request, ticket);
    },
  });

  for (const action of ['close', 'force-close']) {
    app.post(`${SESSIONS}:id/${action}/`, {
      schema: { tags, summary: 'End a session: its shell is hung up', params: IdParams, response: { 200: WebshSessionBody, ...commonErrors } },
      handler: async (request) => renderSession(await websh.close(request.actor, request.params.id)),
    });
  }

  app.post(`${SESSIONS}:id/share/`, {
    schema: { tags, summary: 'Share an open session: a link and a generated password (shown once), for 24 hours', params: IdParams, body: WebshSharePost, response: { 201: WebshShareBody, ...commonErrors } },
    handler: async (request, reply) => {
      const shared = await websh.share(request.actor, request.params.id, { readOnly: request.body.read_only ?? false });
      reply.code(201);
      return {
        shared_url: `${baseUrl(request)}${CHANNELS}${shared.shareId}/join/?channel=${shared.shareId}`,
        password: shared.password,
        read_only: shared.readOnly,
        expiration: shared.expiresAt,
      };
    },
  });

  app.post(`${CHANNELS}:id/join/`, {
    schema: { tags, summary: "Join a shared session with its password: the terminal's one-time WebSocket URL", params: IdParams, body: WebshJoinPost, response: { 201: WebshTicketBody, ...commonErrors } },
    handler: async (request, reply) => {
      reply.code(201);
      return renderTicket(request, await websh.join(request.actor, request.params.id, request.body.password));
    },
  });

  ticketSocketRoute(app, SOCKETS, (id, token) => websh.connect(id, token), (socket, channel) => {
    const held: { data: Buffer; binary: boolean }[] = [];
    let attachment: Attachment | undefined;
    const onMessage = (data: Buffer, binary: boolean) => {
      if (!attachment) return void held.push({ data, binary });
      if (binary) return attachment.input(data);
      const resize = parseResize(data.toString('utf8'));
      if (resize) attachment.resize(resize.rows, resize.cols);
      else socket.close(CLOSE_BAD_MESSAGE, 'Text frames carry {"type": "resize", "rows", "cols"}; input is sent as binary frames.');
    };
    socket.on('message', (data, binary) => onMessage(data as Buffer, binary));
    socket.on('close', () => attachment?.leave());
    void websh.attach(channel, socketViewer(socket)).then((attached) => {
      if (!attached) return;
      if (socket.readyState !== socket.OPEN) return attached.leave();
      attachment = attached;
      for (const message of held.splice(0)) onMessage(message.data, message.binary);
    });
  });
}
