import { Type } from 'typebox';
import type { ChannelMessage, OutputChannels } from '../../../core/commands/output-channels.ts';
import { CHANNEL_EVENT_TYPES } from '../../../core/commands/output-channels.ts';
import { DomainError } from '../../../core/errors.ts';
import { ticketSocketRoute, ticketSocketUrl } from '../ticket-sockets.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, Timestamp, Uuid } from '../wire/common.ts';

const SESSIONS = '/api/events/sessions/';
const SUBSCRIPTIONS = '/api/events/subscriptions/';
const SOCKETS = '/ws/events/';
/** A reader this far behind is dropped (1008) rather than buffered for without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const CLOSE_OVERLOADED = 1008;
const CLOSE_POLICY = 1008;
const CLOSE_SHUTDOWN = 1001;

const SessionBody = Type.Object({
  id: Uuid,
  channel_id: Uuid,
  websocket_url: Type.String({ description: "The channel's WebSocket: its one-time token (30 s) is its only credential." }),
});
const SubscriptionBody = Type.Object({ id: Uuid, channel: Uuid, event_type: Type.String(), target_id: Uuid, added_at: Timestamp });

/** A message as Alpacon's event channels send it: `{event_type, payload}`. */
function renderMessage(m: ChannelMessage) {
  if (m.eventType === 'command_output') return { event_type: m.eventType, payload: { command_id: m.commandId, seq: m.seq, content: m.content, added_at: m.createdAt } };
  return { event_type: m.eventType, payload: { id: m.commandId, server: m.serverId, status: m.status, success: m.success, exit_code: m.exitCode, finished_at: m.finishedAt } };
}

/**
 * `/api/events/sessions/` and `subscriptions/`: live command output over a WebSocket, as
 * Alpacon's CLI follows `alpacon exec` (it polls when these are missing). A session answers its
 * channel's WebSocket URL; once the socket is connected, the same credential subscribes it.
 */
export function eventChannelRoutes(app: FastifyTypeBox, channels: OutputChannels): void {
  const tags = ['events'];

  app.post(SESSIONS, {
    schema: {
      tags,
      summary: "Open an event channel: its WebSocket URL, to connect before subscribing it (POST /api/events/subscriptions/)",
      body: Type.Optional(Type.Object({})),
      response: { 201: SessionBody, ...commonErrors },
    },
    handler: async (request, reply) => {
      const ticket = await channels.open(request.actor);
      reply.code(201);
      return { id: ticket.id, channel_id: ticket.id, websocket_url: ticketSocketUrl(request, SOCKETS, ticket.id, ticket.token) };
    },
  });

  app.post(SUBSCRIPTIONS, {
    schema: {
      tags,
      summary: 'Subscribe a connected channel: `command_output` (target: a command) sends its output chunks, `command_fin` (target: a server) each command that finishes on it',
      description: '`sudo` (target: a web shell session) is accepted as Alpacon\'s CLI asks for it; Nimbus asks no sudo confirmation, so it sends nothing.',
      body: Type.Object({ channel: Type.String({ maxLength: 40 }), event_type: Type.String({ maxLength: 40, description: CHANNEL_EVENT_TYPES.join(', ') }), target_id: Type.Optional(Type.String({ maxLength: 40 })) }),
      response: { 201: SubscriptionBody, ...commonErrors },
    },
    handler: async (request, reply) => {
      const { channel, event_type, target_id } = request.body;
      const subscription = await channels.subscribe(request.actor, { channel, eventType: event_type, target: target_id });
      reply.code(201);
      return { id: subscription.id, channel: subscription.channel, event_type: subscription.eventType, target_id: subscription.target, added_at: subscription.createdAt };
    },
  });

  ticketSocketRoute(app, SOCKETS, (id, token) => channels.connect(id, token), (socket, channel, request) => {
    const ended = new AbortController();
    socket.on('close', () => ended.abort());
    void (async () => {
      for await (const batch of channels.follow(channel, ended.signal)) {
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return socket.close(CLOSE_OVERLOADED, 'This channel is too far behind; open another.');
        for (const message of batch) socket.send(JSON.stringify(renderMessage(message)));
      }
      if (!ended.signal.aborted) socket.close(CLOSE_SHUTDOWN, 'Nimbus is stopping.');
    })().catch((error: unknown) => {
      // Refused (no slot left) or ended (its user deactivated): the reason, in words.
      if (error instanceof DomainError) return socket.close(CLOSE_POLICY, error.message.slice(0, 120));
      request.log.error({ err: error }, 'event channel failed');
      socket.close(1011, 'The channel failed.');
    });
  });
}
