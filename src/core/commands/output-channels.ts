import { randomBytes } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import { nextWakeUp, type Notifier } from '../../store/notifier.ts';
import type { EventChannelRow, EventSubscriptionRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { PrincipalResolver } from '../auth/principals.ts';
import { isoAfter, isUuid, newId, nowIso } from '../clock.ts';
import type { ServerService } from '../compute/server-service.ts';
import { InvalidState, NotFound, Unauthenticated, ValidationFailed } from '../errors.ts';
import { hashToken } from '../tokens/token-format.ts';
import type { LongRequests } from '../long-requests.ts';
import type { WebshService } from '../websh/websh-service.ts';
import type { CommandService } from './command-service.ts';

/** How long a channel's WebSocket token may wait to be used (once). */
export const CHANNEL_TOKEN_TTL_MS = 30_000;
/** What a channel may be subscribed to, and what each subscription's target is. */
export const CHANNEL_EVENT_TYPES = ['command_output', 'command_fin', 'sudo'] as const;
export type ChannelEventType = (typeof CHANNEL_EVENT_TYPES)[number];
/** The most subscriptions one channel holds. */
const SUBSCRIPTIONS_MAX = 100;
/** A channel looks for new output and subscriptions this often, wake-ups aside. */
const POLL_MS = 500;
const BATCH = 200;

/** One message of a channel, as Alpacon's event channels send it. */
export type ChannelMessage =
  | { eventType: 'command_output'; commandId: string; seq: number; content: string; createdAt: string }
  | { eventType: 'command_fin'; commandId: string; serverId: string; status: string; success: boolean | null; exitCode: number | null; finishedAt: string };

export interface ChannelTicket {
  id: string;
  token: string;
}

export type OutputChannels = ReturnType<typeof createOutputChannels>;

/**
 * Live command output over event channels (Alpacon's `/api/events/sessions/` and
 * `subscriptions/`): a channel is opened by a credential, its WebSocket connects once with the
 * token its URL carries, then the same credential subscribes it to a command's output chunks or
 * to the commands finishing on a server, each target checked against the subscriber's tenancy.
 * What a channel sends comes from the output the command recorder stores, read as it is stored
 * (woken by the recorder's notifications, on every replica), so nothing depends on which process
 * holds the socket.
 */
export function createOutputChannels(deps: {
  store: Store;
  notifier: Notifier;
  longRequests: LongRequests;
  principals: Pick<PrincipalResolver, 'standing'>;
  commands: Pick<CommandService, 'get'>;
  servers: Pick<ServerService, 'findVisible'>;
  websh: Pick<WebshService, 'get'>;
}) {
  const { store, notifier, longRequests, principals, commands, servers, websh } = deps;
  const { db } = store;
  const closing = new AbortController();

  /** Opens a channel for the actor's credential; its WebSocket URL carries the token. */
  async function open(actor: Actor): Promise<ChannelTicket> {
    assertAllowed(actor, 'command:read');
    const token = randomBytes(24).toString('base64url');
    const row: EventChannelRow = {
      id: newId(),
      organization_id: actor.organizationId,
      user_id: actor.principal.userId,
      credential_id: actor.principal.credentialId,
      credential_kind: actor.principal.credentialKind,
      token_hash: hashToken(token),
      token_expires_at: isoAfter(CHANNEL_TOKEN_TTL_MS),
      connected_at: null,
      closed_at: null,
      created_at: nowIso(),
    };
    await db.insertInto('event_channels').values(row).execute();
    return { id: row.id, token };
  }

  /** Spends a channel's token (once, while fresh): the channel its WebSocket now holds. */
  async function connect(id: string, token: string): Promise<EventChannelRow> {
    const refused = () => new Unauthenticated('The event channel token is not valid: it is used once, within 30 seconds.', 'event_channel_token_invalid');
    if (!isUuid(id) || token.length > 100) throw refused();
    const now = nowIso();
    const spent = await db
      .updateTable('event_channels')
      .set({ connected_at: now })
      .where('id', '=', id.toLowerCase())
      .where('token_hash', '=', hashToken(token))
      .where('connected_at', 'is', null)
      .where('token_expires_at', '>', now)
      .executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) throw refused();
    return db.selectFrom('event_channels').selectAll().where('id', '=', id.toLowerCase()).executeTakeFirstOrThrow();
  }

  /**
   * Subscribes a connected channel of the actor's own credential to `eventType` events of
   * `target`, which the actor must be able to see: a command (its output), a server (its
   * commands finishing), a web shell session (sudo requests: Nimbus asks none, so none come).
   */
  async function subscribe(actor: Actor, request: { channel: string; eventType: string; target?: string }): Promise<{ id: string; channel: string; eventType: ChannelEventType; target: string; createdAt: string }> {
    assertAllowed(actor, 'command:read');
    const eventType = request.eventType as ChannelEventType;
    if (!(CHANNEL_EVENT_TYPES as readonly string[]).includes(eventType)) throw ValidationFailed.field('event_type', `"${request.eventType.slice(0, 40)}" is not a valid choice. Choose from: ${CHANNEL_EVENT_TYPES.join(', ')}.`);
    if (!request.target || !isUuid(request.target)) throw ValidationFailed.field('target_id', 'A valid UUID is required.');
    const channel = isUuid(request.channel)
      ? await db.selectFrom('event_channels').selectAll().where('id', '=', request.channel.toLowerCase()).where('credential_id', '=', actor.principal.credentialId).executeTakeFirst()
      : undefined;
    if (!channel || channel.closed_at !== null) throw new NotFound('event_channel', 'No channel matches the given query.');
    if (channel.connected_at === null) throw new InvalidState('waiting', ['connected'], 'Connect the channel\'s WebSocket first: subscriptions are taken once it is connected.');
    let target = request.target.toLowerCase();
    let afterSeq = -1;
    if (eventType === 'command_output') {
      target = (await commands.get(actor, target)).id;
      const last = await db.selectFrom('command_chunks').select((eb) => eb.fn.max('seq').as('seq')).where('command_id', '=', target).executeTakeFirst();
      afterSeq = last?.seq === null || last?.seq === undefined ? -1 : Number(last.seq);
    } else if (eventType === 'command_fin') target = (await servers.findVisible(actor, target)).id;
    else target = (await websh.get(actor, target)).id;
    const held = await db.selectFrom('event_subscriptions').select((eb) => eb.fn.countAll<number>().as('count')).where('channel_id', '=', channel.id).executeTakeFirstOrThrow();
    if (Number(held.count) >= SUBSCRIPTIONS_MAX) throw ValidationFailed.field('channel', `A channel holds at most ${SUBSCRIPTIONS_MAX} subscriptions.`);
    const row: EventSubscriptionRow = { id: newId(), channel_id: channel.id, event_type: eventType, target_id: target, organization_path: actor.organizationPath, after_seq: afterSeq, created_at: nowIso() };
    await db.insertInto('event_subscriptions').values(row).execute();
    // Wakes the channel's socket, wherever it is held, to take the subscription at once.
    await notifier.notify(db, 'command_output');
    return { id: row.id, channel: channel.id, eventType, target, createdAt: row.created_at };
  }

  /**
   * What a connected channel sends, in batches, until `signal` aborts (its socket closed) or the
   * process closes: each command_output subscription's chunks after the last one sent, and each
   * command of a command_fin subscription's server that finished after it was taken. The socket
   * holds one of its credential's long-request slots (a 429 when none is left), and ends with a
   * domain error once that credential no longer stands (revoked, expired, its user deactivated),
   * as a request presenting it would be refused: the socket resolves it again by id.
   */
  async function* follow(channel: EventChannelRow, signal: AbortSignal): AsyncGenerator<ChannelMessage[]> {
    const slot = longRequests.openFor(channel.credential_id, () => principals.standing({ kind: channel.credential_kind, id: channel.credential_id }));
    const stop = AbortSignal.any([signal, closing.signal]);
    const positions = new Map<string, number>();
    const finishedCursors = new Map<string, { at: string; ids: Set<string> }>();
    try {
      while (!stop.aborted) {
        await slot.recheck();
        const wake = nextWakeUp(notifier, ['command_output'], POLL_MS, stop);
        const subscriptions = await db.selectFrom('event_subscriptions').selectAll().where('channel_id', '=', channel.id).orderBy('created_at').execute();
        const messages: ChannelMessage[] = [];
        for (const s of subscriptions) {
          if (s.event_type === 'command_output') messages.push(...(await outputAfter(s, positions)));
          else if (s.event_type === 'command_fin') messages.push(...(await finishedSince(s, finishedCursors)));
        }
        if (messages.length) yield messages;
        await wake;
      }
    } finally {
      slot.release();
      // Best effort: at shutdown the store may already be closed.
      await db.updateTable('event_channels').set({ closed_at: nowIso() }).where('id', '=', channel.id).where('closed_at', 'is', null).execute().catch(() => undefined);
    }
  }

  async function outputAfter(s: EventSubscriptionRow, positions: Map<string, number>): Promise<ChannelMessage[]> {
    const position = positions.get(s.id) ?? Number(s.after_seq);
    const rows = await db
      .selectFrom('command_chunks')
      .innerJoin('commands', 'commands.id', 'command_chunks.command_id')
      .select(['command_chunks.seq', 'command_chunks.content', 'command_chunks.created_at'])
      .where('command_chunks.command_id', '=', s.target_id)
      .where('commands.organization_path', 'like', `${s.organization_path}%`)
      .where('command_chunks.seq', '>', position)
      .orderBy('command_chunks.seq')
      .limit(BATCH)
      .execute();
    if (rows.length) positions.set(s.id, Number(rows.at(-1)!.seq));
    return rows.map((r) => ({ eventType: 'command_output', commandId: s.target_id, seq: Number(r.seq), content: r.content, createdAt: r.created_at }));
  }

  /** The commands of the subscription's server finished since the last seen (`cursors`: when, and which at that moment). */
  async function finishedSince(s: EventSubscriptionRow, cursors: Map<string, { at: string; ids: Set<string> }>): Promise<ChannelMessage[]> {
    const cursor = cursors.get(s.id) ?? { at: s.created_at, ids: new Set<string>() };
    const rows = await db
      .selectFrom('commands')
      .select(['id', 'server_id', 'status', 'success', 'exit_code', 'finished_at'])
      .where('server_id', '=', s.target_id)
      .where('organization_path', 'like', `${s.organization_path}%`)
      .where('finished_at', '>=', cursor.at)
      .orderBy('finished_at')
      .limit(BATCH)
      .execute();
    const fresh = rows.filter((r) => !cursor.ids.has(r.id));
    for (const r of fresh) {
      if (r.finished_at! > cursor.at) cursor.ids.clear();
      cursor.at = r.finished_at!;
      cursor.ids.add(r.id);
    }
    cursors.set(s.id, cursor);
    return fresh.map((r) => ({ eventType: 'command_fin', commandId: r.id, serverId: r.server_id, status: r.status, success: r.success === null ? null : r.success === 1, exitCode: r.exit_code, finishedAt: r.finished_at! }));
  }

  /** Ends every channel's stream (shutdown). */
  function close(): void {
    closing.abort();
  }

  return { open, connect, subscribe, follow, close };
}
