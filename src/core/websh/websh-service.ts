import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ComputeHost } from '../../backends/compute-host.ts';
import type { Store } from '../../store/database.ts';
import type { Database, WebshChannelRow, WebshSessionRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { PrincipalResolver } from '../auth/principals.ts';
import { endsAccess, RECHECK_MS, type HeldSlot, type LongRequests } from '../long-requests.ts';
import type { TokenAclService } from '../token-acl/token-acl-service.ts';
import { isoAfter, isUuid, newId, nowIso } from '../clock.ts';
import { asDomainError, assertComputeAvailable, tenantMessage } from '../compute/context.ts';
import type { ServerService } from '../compute/server-service.ts';
import { InvalidState, NotFound, PermissionDenied, Unauthenticated, ValidationFailed } from '../errors.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { goneServer, goneUser, serverSummaries, userSummaries, type ServerSummary, type UserSummary } from '../summaries.ts';
import { hashToken } from '../tokens/token-format.ts';
import { createLiveTerminals, type Attachment, type Viewer } from './live-terminals.ts';

/** How long a WebSocket token may wait to be used (it opens one WebSocket, once). */
export const WEBSH_TOKEN_TTL_MS = 30_000;
/** How long a shared session may be joined. */
export const WEBSH_SHARE_TTL_MS = 24 * 60 * 60 * 1000;
/** Terminal sizes accepted. */
export const TERMINAL_SIZE = { min: 1, max: 1000 };
const NAME_MAX = 32;

export interface WebshSession {
  id: string;
  server: ServerSummary;
  user: UserSummary | null;
  username: string;
  groupname: string;
  rows: number;
  cols: number;
  userAgent: string;
  remoteIp: string;
  createdAt: string;
  startedAt: string | null;
  closedAt: string | null;
  exitCode: number | null;
}

/** A session with the one-time token of a WebSocket to its terminal (`channelId` names that channel). */
export interface WebshTicket {
  session: WebshSession;
  channelId: string;
  token: string;
  readOnly: boolean;
}

export interface WebshShare {
  shareId: string;
  password: string;
  readOnly: boolean;
  expiresAt: string;
}

export interface WebshOpenRequest {
  server: string;
  rows: number;
  cols: number;
  username?: string;
  groupname?: string;
  userAgent: string;
}

const listSpec: ListSpec = {
  filters: {
    server: uuidFilter('server_id', 'server'),
    user: uuidFilter('user_id', 'user'),
    // Alpacon's CLI lists the sessions one may still connect to: those not closed.
    is_connectable: (query, value) => {
      if (value !== 'true' && value !== 'false') throw ValidationFailed.field('is_connectable', 'Must be a valid boolean.');
      return value === 'true' ? query.where('closed_at', 'is', null) : query.where('closed_at', 'is not', null);
    },
  },
  searchColumns: ['username'],
  orderings: { added_at: 'created_at', created_at: 'created_at' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

const newSecret = () => randomBytes(24).toString('base64url');

function sameHash(hash: string, secret: string): boolean {
  return timingSafeEqual(Buffer.from(hash), Buffer.from(hashToken(secret)));
}

export type WebshService = ReturnType<typeof createWebshService>;

/**
 * Web shell: interactive shells in running servers, each a recorded session (who, which server,
 * as which user, when) whose terminal a WebSocket reaches with a one-time, short-lived token;
 * a session can be shared (by link and generated password, read-only or not, until it expires).
 * Terminals run in this process, next to the compute host that runs the servers.
 */
export function createWebshService(deps: {
  store: Store;
  host: ComputeHost;
  servers: Pick<ServerService, 'findVisible'>;
  acl: Pick<TokenAclService, 'assertShell'>;
  longRequests: Pick<LongRequests, 'openFor'>;
  principals: Pick<PrincipalResolver, 'standing'>;
}) {
  const { store, host, servers, acl, longRequests, principals } = deps;
  const { db } = store;
  const live = createLiveTerminals();

  const visible = (actor: Actor) => db.selectFrom('websh_sessions').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string): Promise<WebshSessionRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id.toLowerCase()).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('websh_session', 'No session matches the given query.');
    return row;
  }

  async function shown(readerPath: string, rows: WebshSessionRow[], from: Kysely<Database> = db): Promise<WebshSession[]> {
    const [serverMap, users] = await Promise.all([serverSummaries(from, rows.map((r) => r.server_id)), userSummaries(from, readerPath, rows.map((r) => r.user_id))]);
    return rows.map((r) => ({
      id: r.id,
      server: serverMap.get(r.server_id) ?? goneServer(r.server_id),
      user: r.user_id === null ? null : (users.get(r.user_id) ?? goneUser(r.user_id)),
      username: r.username,
      groupname: r.groupname,
      rows: r.rows,
      cols: r.cols,
      userAgent: r.user_agent,
      remoteIp: r.remote_ip,
      createdAt: r.created_at,
      startedAt: r.started_at,
      closedAt: r.closed_at,
      exitCode: r.exit_code,
    }));
  }

  async function issueChannel(trx: Kysely<Database>, session: WebshSessionRow, actor: Actor, fields: { shareId: string | null; readOnly: boolean }) {
    const token = newSecret();
    const channel: WebshChannelRow = {
      id: newId(),
      session_id: session.id,
      share_id: fields.shareId,
      user_id: actor.principal.userId,
      read_only: fields.readOnly ? 1 : 0,
      token_hash: hashToken(token),
      token_expires_at: isoAfter(WEBSH_TOKEN_TTL_MS),
      connected_at: null,
      credential_id: actor.principal.credentialId,
      credential_kind: actor.principal.credentialKind,
      created_at: nowIso(),
    };
    await trx.insertInto('websh_channels').values(channel).execute();
    return { channelId: channel.id, token };
  }

  function checkOpenRequest(request: WebshOpenRequest): void {
    const errors: Record<string, string[]> = {};
    for (const field of ['rows', 'cols'] as const) {
      const value = request[field];
      if (!Number.isInteger(value) || value < TERMINAL_SIZE.min || value > TERMINAL_SIZE.max) errors[field] = [`Ensure this value is a whole number from ${TERMINAL_SIZE.min} to ${TERMINAL_SIZE.max}.`];
    }
    for (const field of ['username', 'groupname'] as const) {
      const value = request[field] ?? '';
      if (value.length > NAME_MAX || /[\s:\0]/.test(value)) errors[field] = [`Ensure this field is a user or group name of at most ${NAME_MAX} characters.`];
    }
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
  }

  /** Opens a session on a running server of the actor's subtree, with the token of its terminal's WebSocket. */
  async function open(actor: Actor, request: WebshOpenRequest): Promise<WebshTicket> {
    assertAllowed(actor, 'command:write');
    checkOpenRequest(request);
    const server = await servers.findVisible(actor, request.server);
    await acl.assertShell(actor, { serverId: server.id, username: request.username || 'root', groupname: request.groupname ?? '' });
    if (server.state !== 'running') throw new InvalidState(server.state, ['running'], `The server is ${server.state}; a web shell opens only on a running server.`);
    await assertComputeAvailable(host);
    return db.transaction().execute(async (trx) => {
      const row: WebshSessionRow = {
        id: newId(),
        organization_id: server.organization_id,
        organization_path: server.organization_path,
        server_id: server.id,
        user_id: actor.principal.userId,
        username: request.username || 'root',
        groupname: request.groupname ?? '',
        rows: request.rows,
        cols: request.cols,
        user_agent: request.userAgent.slice(0, 500),
        remote_ip: actor.clientAddress,
        created_at: nowIso(),
        started_at: null,
        closed_at: null,
        exit_code: null,
      };
      await trx.insertInto('websh_sessions').values(row).execute();
      const channel = await issueChannel(trx, row, actor, { shareId: null, readOnly: false });
      return { session: (await shown(actor.organizationPath, [row], trx))[0]!, ...channel, readOnly: false };
    });
  }

  async function get(actor: Actor, id: string): Promise<WebshSession> {
    assertAllowed(actor, 'command:read');
    return (await shown(actor.organizationPath, [await findVisible(actor, id)]))[0]!;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<WebshSession>> {
    assertAllowed(actor, 'command:read');
    const result = await runList<WebshSessionRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await shown(actor.organizationPath, result.items) } as ListResult<WebshSession>;
  }

  async function markClosed(id: string, exitCode: number | null): Promise<void> {
    await db.updateTable('websh_sessions').set({ closed_at: nowIso(), exit_code: exitCode }).where('id', '=', id).where('closed_at', 'is', null).execute();
  }

  /** Ends a session: its shell is hung up and no channel may connect to it any more. */
  async function close(actor: Actor, id: string): Promise<WebshSession> {
    assertAllowed(actor, 'command:write');
    const row = await findVisible(actor, id);
    await (live.close(row.id) ?? markClosed(row.id, null));
    return get(actor, row.id);
  }

  /** Shares an open session: a link and a generated password, valid for `WEBSH_SHARE_TTL_MS`. */
  async function share(actor: Actor, id: string, options: { readOnly: boolean }): Promise<WebshShare> {
    assertAllowed(actor, 'command:write');
    const row = await findVisible(actor, id);
    if (row.closed_at !== null) throw new InvalidState('closed', ['open'], 'The session is closed; only an open session can be shared.');
    const password = newSecret();
    const shareRow = {
      id: newId(),
      session_id: row.id,
      read_only: options.readOnly ? 1 : 0,
      password_hash: hashToken(password),
      expires_at: isoAfter(WEBSH_SHARE_TTL_MS),
      created_by: actor.principal.userId,
      created_at: nowIso(),
    };
    await db.insertInto('websh_shares').values(shareRow).execute();
    return { shareId: shareRow.id, password, readOnly: options.readOnly, expiresAt: shareRow.expires_at };
  }

  /**
   * Joins a shared session with its password: a channel of the share's kind, for a user who may
   * see the session's organization and may use a terminal so (`command:write` to type).
   */
  async function join(actor: Actor, shareId: string, password: string): Promise<WebshTicket> {
    const found = isUuid(shareId)
      ? await db
          .selectFrom('websh_shares')
          .innerJoin('websh_sessions', 'websh_sessions.id', 'websh_shares.session_id')
          .selectAll('websh_shares')
          .select('websh_sessions.organization_path')
          .where('websh_shares.id', '=', shareId.toLowerCase())
          .where('websh_sessions.organization_path', 'like', `${actor.organizationPath}%`)
          .executeTakeFirst()
      : undefined;
    if (!found) throw new NotFound('websh_share', 'No shared session matches the given query.');
    assertAllowed(actor, found.read_only ? 'command:read' : 'command:write');
    if (!sameHash(found.password_hash, password)) throw new PermissionDenied('The password is not the shared session\'s.', 'websh_share_password_invalid');
    if (found.expires_at <= nowIso()) throw new PermissionDenied('The shared session\'s link has expired.', 'websh_share_expired');
    const session = await findVisible(actor, found.session_id);
    if (session.closed_at !== null) throw new InvalidState('closed', ['open'], 'The session is closed.');
    await acl.assertShell(actor, { serverId: session.server_id, username: session.username, groupname: session.groupname, readOnly: found.read_only === 1 });
    const channel = await issueChannel(db, session, actor, { shareId: found.id, readOnly: found.read_only === 1 });
    return { session: (await shown(actor.organizationPath, [session]))[0]!, ...channel, readOnly: found.read_only === 1 };
  }

  /**
   * Opens a channel's WebSocket: its token is spent here, whatever happens next. A token used
   * before, expired, or not the channel's is refused alike; so is a closed session.
   */
  async function connect(channelId: string, token: string): Promise<{ channel: WebshChannelRow; session: WebshSessionRow }> {
    const refused = () => new Unauthenticated('The web shell token is not valid: it is used once, within 30 seconds.', 'websh_token_invalid');
    if (!isUuid(channelId) || token.length > 100) throw refused();
    const now = nowIso();
    const spent = await db
      .updateTable('websh_channels')
      .set({ connected_at: now })
      .where('id', '=', channelId.toLowerCase())
      .where('token_hash', '=', hashToken(token))
      .where('connected_at', 'is', null)
      .where('token_expires_at', '>', now)
      .executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) throw refused();
    const channel = await db.selectFrom('websh_channels').selectAll().where('id', '=', channelId.toLowerCase()).executeTakeFirstOrThrow();
    const session = await db.selectFrom('websh_sessions').selectAll().where('id', '=', channel.session_id).executeTakeFirstOrThrow();
    if (session.closed_at !== null) throw new InvalidState('closed', ['open'], 'The session is closed.');
    return { channel, session };
  }

  /**
   * Attaches a connected channel's viewer: the session's own channel starts its shell, a joined
   * one watches it (and types, unless read-only). Failures end the viewer with their message.
   * The viewer holds one of its credential's long-request slots, and is ended (`denied`) once
   * that credential no longer stands, within `RECHECK_MS` and the credential caches' life: a
   * revoked token does not keep a shell it opened.
   */
  async function attach(connected: { channel: WebshChannelRow; session: WebshSessionRow }, viewer: Viewer): Promise<Attachment | undefined> {
    const { channel, session } = connected;
    let slot: HeldSlot;
    try {
      slot = longRequests.openFor(channel.credential_id ?? channel.id, () => principals.standing({ kind: channel.credential_kind, id: channel.credential_id }));
    } catch (error) {
      // Refused a slot: the session's own shell never starts, so the session ends here.
      if (channel.share_id === null) await markClosed(session.id, null);
      viewer.end('denied', (error as Error).message);
      return undefined;
    }
    const attached = await attachTerminal(channel, session, viewer);
    if (!attached) {
      slot.release();
      return undefined;
    }
    return heldWhileStanding(attached, slot, viewer);
  }

  async function attachTerminal(channel: WebshChannelRow, session: WebshSessionRow, viewer: Viewer): Promise<Attachment | undefined> {
    if (channel.share_id !== null) {
      const joined = live.join(session.id, viewer, { readOnly: channel.read_only === 1 });
      if (!joined) viewer.end('failed', 'The session is not running.');
      return joined;
    }
    try {
      const terminal = await host.servers.terminal(session.server_id, { username: session.username, groupname: session.groupname || undefined, rows: session.rows, cols: session.cols });
      await db.updateTable('websh_sessions').set({ started_at: nowIso() }).where('id', '=', session.id).execute();
      return live.start(session.id, terminal, viewer, (exitCode) => markClosed(session.id, exitCode));
    } catch (error) {
      await markClosed(session.id, null);
      viewer.end('failed', tenantMessage(asDomainError(error)));
      return undefined;
    }
  }

  /** `attachment`, re-checking `slot` every `RECHECK_MS`: once it fails, the viewer is ended and leaves (the session's own viewer leaving hangs up its shell). */
  function heldWhileStanding(attachment: Attachment, slot: HeldSlot, viewer: Viewer): Attachment {
    const leave = () => {
      clearInterval(timer);
      slot.release();
      attachment.leave();
    };
    const timer = setInterval(() => {
      slot.recheck().catch((error: unknown) => {
        // A store that cannot answer for a moment ends nothing: the next re-check asks again.
        if (!endsAccess(error)) return;
        viewer.end('denied', (error as Error).message);
        leave();
      });
    }, RECHECK_MS);
    timer.unref();
    return { ...attachment, leave };
  }

  return { open, get, list, close, share, join, connect, attach, closeAll: () => live.closeAll() };
}
