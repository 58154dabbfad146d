import type { Kysely } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { Database, TokenAclRow } from '../../store/schema.ts';
import { assertNotAclBound, assertScope, type Actor } from '../actor.ts';
import type { CredentialCache } from '../auth/credential-cache.ts';
import { inheritTokenAcl } from './acl-inheritance.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import type { ServerService } from '../compute/server-service.ts';
import { NotFound, PermissionDenied, ValidationFailed } from '../errors.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { goneServer, serverSummaries, type ServerSummary } from '../summaries.ts';
import type { TokenService } from '../tokens/token-service.ts';
import { accountAllowed, checkRuleFields, commandAllowed, fileAllowed, normalizedPath, type Account, type AclKind, type FileAction } from './acl-rules.ts';

/** A rule as core shows it, with its token's name and (for server rules) its server. */
export interface TokenAcl {
  id: string;
  kind: AclKind;
  tokenId: string;
  tokenName: string;
  command: string | null;
  server: ServerSummary | null;
  path: string | null;
  action: string | null;
  username: string;
  groupname: string;
  createdAt: string;
}

export interface TokenAclInput {
  token?: string;
  command?: string;
  server?: string;
  path?: string;
  action?: string;
  username?: string;
  groupname?: string;
}

const MAX_BULK_SERVERS = 500;

const listSpec: ListSpec = {
  filters: { token: uuidFilter('token_id', 'token') },
  searchColumns: [],
  orderings: { created_at: 'created_at' },
  defaultOrdering: 'created_at',
  idColumn: 'id',
};

const denied = (what: string) => new PermissionDenied(`This token's ACL does not allow ${what}. Review its rules with \`alpacon token acl\`.`, 'api_token_acl_not_allowed');

export type TokenAclService = ReturnType<typeof createTokenAclService>;

/**
 * Token ACLs: which commands, servers and paths a personal token (and the bearers exchanged
 * from it) may use. From its first rule a token is bound: each kind is deny-by-default for it.
 * Rules are managed by their token's owner with a credential no ACL binds (a login session): a
 * token may not widen its own reach. Other services ask `assert*` before anything reaches a server.
 */
export function createTokenAclService(deps: { store: Pick<Store, 'db'>; audit: AuditService; tokens: Pick<TokenService, 'duplicateFor'>; servers: Pick<ServerService, 'findVisible'>; credentialCache: CredentialCache }) {
  const { store, audit, tokens, servers, credentialCache } = deps;
  const { db } = store;

  const ownTokenIds = (actor: Actor) => db.selectFrom('api_tokens').select('id').where('user_id', '=', actor.principal.userId).where('kind', '=', 'personal');

  async function findOwnToken(actor: Actor, id: string | undefined): Promise<{ id: string; name: string }> {
    if (id === undefined || id === '') throw ValidationFailed.field('token', 'This field is required.');
    const row = isUuid(id) ? await db.selectFrom('api_tokens').select(['id', 'name']).where('id', 'in', ownTokenIds(actor)).where('id', '=', id.toLowerCase()).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('token', 'No token matches the given query.');
    return row;
  }

  function assertMayManage(actor: Actor): void {
    assertScope(actor, 'token:write');
    assertNotAclBound(actor, 'change ACL rules');
  }

  /** A token's first rule binds it: from then on each kind is deny-by-default for it. */
  async function bind(trx: Kysely<Database>, tokenId: string): Promise<void> {
    await trx.updateTable('api_tokens').set({ acl_bound: 1 }).where('id', '=', tokenId).execute();
  }

  async function shown(rows: TokenAclRow[], from: Kysely<Database> = db): Promise<TokenAcl[]> {
    const tokenIds = [...new Set(rows.map((r) => r.token_id))];
    const names = new Map(tokenIds.length ? (await from.selectFrom('api_tokens').select(['id', 'name']).where('id', 'in', tokenIds).execute()).map((t) => [t.id, t.name]) : []);
    const summaries = await serverSummaries(from, rows.flatMap((r) => (r.server_id ? [r.server_id] : [])));
    return rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      tokenId: r.token_id,
      tokenName: names.get(r.token_id) ?? '',
      command: r.command,
      server: r.server_id ? (summaries.get(r.server_id) ?? goneServer(r.server_id)) : null,
      path: r.path,
      action: r.action,
      username: r.username,
      groupname: r.groupname,
      createdAt: r.created_at,
    }));
  }

  async function list(actor: Actor, kind: AclKind, request: ListRequest): Promise<ListResult<TokenAcl>> {
    assertScope(actor, 'token:read');
    const base = db.selectFrom('token_acls').selectAll().where('kind', '=', kind).where('token_id', 'in', ownTokenIds(actor));
    const result = await runList<TokenAclRow>(db, base, listSpec, request);
    return { ...result, items: await shown(result.items) } as ListResult<TokenAcl>;
  }

  async function get(actor: Actor, kind: AclKind, id: string): Promise<TokenAcl> {
    assertScope(actor, 'token:read');
    return (await shown([await findOwnRule(actor, kind, id)]))[0]!;
  }

  async function findOwnRule(actor: Actor, kind: AclKind, id: string): Promise<TokenAclRow> {
    const row = isUuid(id) ? await db.selectFrom('token_acls').selectAll().where('kind', '=', kind).where('token_id', 'in', ownTokenIds(actor)).where('id', '=', id.toLowerCase()).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('acl', 'No ACL rule matches the given query.');
    return row;
  }

  function newRow(tokenId: string, kind: AclKind, fields: Partial<TokenAclRow>): TokenAclRow {
    return { id: newId(), token_id: tokenId, kind, command: null, server_id: null, path: null, action: null, username: '', groupname: '', created_at: nowIso(), ...fields };
  }

  /** Adds one rule to one of the caller's tokens; a server rule's server must be one the caller sees. */
  async function create(actor: Actor, kind: AclKind, input: TokenAclInput): Promise<TokenAcl> {
    assertMayManage(actor);
    const errors = checkRuleFields(kind, input);
    if (kind === 'server' && (input.server === undefined || input.server === '')) errors.server = ['This field is required.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    const token = await findOwnToken(actor, input.token);
    const account = { username: input.username ?? '', groupname: input.groupname ?? '' };
    let row: TokenAclRow;
    if (kind === 'server') {
      const server = await servers.findVisible(actor, input.server!.toLowerCase());
      const existing = await db.selectFrom('token_acls').select('id').where('token_id', '=', token.id).where('server_id', '=', server.id).executeTakeFirst();
      if (existing) throw new ValidationFailed({}, ['This token already has a rule for this server.']);
      row = newRow(token.id, kind, { server_id: server.id });
    } else if (kind === 'command') row = newRow(token.id, kind, { command: input.command!.trim(), ...account });
    else row = newRow(token.id, kind, { path: input.path!, action: input.action!, ...account });
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('token_acls').values(row).execute();
      await bind(trx, token.id);
      await audit.recordFor(actor, { action: 'token_acl_created', targetType: 'token', targetId: token.id, detail: { kind, rule: row.id } }, trx);
    });
    // Other replicas see the token bound once their cache entry lapses (2 s).
    credentialCache.forget(new Set([token.id]));
    return (await shown([row]))[0]!;
  }

  function checkServerList(serverIds: unknown): string[] {
    if (!Array.isArray(serverIds) || serverIds.length === 0) throw ValidationFailed.field('servers', 'A non-empty list of server ids.');
    if (serverIds.length > MAX_BULK_SERVERS) throw ValidationFailed.field('servers', `Ensure this list has no more than ${MAX_BULK_SERVERS} servers.`);
    const bad = serverIds.filter((id) => typeof id !== 'string' || !isUuid(id));
    if (bad.length) throw new ValidationFailed({ servers: bad.map((id) => `"${String(id)}" is not a valid UUID.`) });
    return [...new Set((serverIds as string[]).map((id) => id.toLowerCase()))];
  }

  /** Grants a token several servers at once (Alpacon's bulk form); servers it already has are kept as they are. */
  async function addServers(actor: Actor, tokenId: string | undefined, serverIds: unknown): Promise<TokenAcl[]> {
    assertMayManage(actor);
    const ids = checkServerList(serverIds);
    const token = await findOwnToken(actor, tokenId);
    // Every server must be visible before anything is written: one unknown server changes nothing.
    for (const id of ids) await servers.findVisible(actor, id);
    const created = await db.transaction().execute(async (trx) => {
      const held = new Set((await trx.selectFrom('token_acls').select('server_id').where('token_id', '=', token.id).where('server_id', 'in', ids).execute()).map((r) => r.server_id));
      const rows = ids.filter((id) => !held.has(id)).map((id) => newRow(token.id, 'server', { server_id: id }));
      if (rows.length) await trx.insertInto('token_acls').values(rows).execute();
      await bind(trx, token.id);
      await audit.recordFor(actor, { action: 'token_acl_created', targetType: 'token', targetId: token.id, detail: { kind: 'server', servers: rows.map((r) => r.server_id) } }, trx);
      return shown(rows, trx);
    });
    credentialCache.forget(new Set([token.id]));
    return created;
  }

  /** Takes several servers away from a token at once; servers it does not have are ignored. */
  async function removeServers(actor: Actor, tokenId: string | undefined, serverIds: unknown): Promise<number> {
    assertMayManage(actor);
    const ids = checkServerList(serverIds);
    const token = await findOwnToken(actor, tokenId);
    const removed = await db.deleteFrom('token_acls').where('token_id', '=', token.id).where('kind', '=', 'server').where('server_id', 'in', ids).returning('id').execute();
    await audit.recordFor(actor, { action: 'token_acl_deleted', targetType: 'token', targetId: token.id, detail: { kind: 'server', removed: removed.length } });
    return removed.length;
  }

  async function remove(actor: Actor, kind: AclKind, id: string): Promise<void> {
    assertMayManage(actor);
    const row = await findOwnRule(actor, kind, id);
    await db.deleteFrom('token_acls').where('id', '=', row.id).execute();
    await audit.recordFor(actor, { action: 'token_acl_deleted', targetType: 'token', targetId: row.token_id, detail: { kind, rule: row.id } });
  }

  /**
   * Alpacon's token duplicate, with the original's ACL: the copy may do what the original may.
   * A caller bound by an ACL hands the copy its own ACL instead (as to every token it makes), so
   * it cannot get a wider token's reach by copying it.
   */
  async function duplicateToken(actor: Actor, id: string, input: { name?: string }) {
    const created = await tokens.duplicateFor(actor, id, input);
    if (!actor.principal.aclTokenId) await db.transaction().execute((trx) => inheritTokenAcl(trx, id.toLowerCase(), created.token.id));
    return created;
  }

  const rulesOf = (tokenId: string, kind: AclKind) => db.selectFrom('token_acls').selectAll().where('token_id', '=', tokenId).where('kind', '=', kind).execute();

  async function assertServer(tokenId: string, serverId: string): Promise<void> {
    const found = await db.selectFrom('token_acls').select('id').where('token_id', '=', tokenId).where('kind', '=', 'server').where('server_id', '=', serverId).executeTakeFirst();
    if (!found) throw denied('this server');
  }

  /** A command line run on a server as `account`: the server and a command rule must allow it. */
  async function assertCommand(actor: Actor, use: { serverId: string; line: string } & Account): Promise<void> {
    const tokenId = actor.principal.aclTokenId;
    if (!tokenId) return;
    await assertServer(tokenId, use.serverId);
    const rules = await rulesOf(tokenId, 'command');
    if (!rules.some((r) => commandAllowed(r.command!, use.line) && accountAllowed(r, use, actor.principal.username))) throw denied(`this command as ${use.username}`);
  }

  /** An interactive shell runs any command: it needs a command rule of `*` for the account. */
  async function assertShell(actor: Actor, use: { serverId: string; readOnly?: boolean } & Account): Promise<void> {
    const tokenId = actor.principal.aclTokenId;
    if (!tokenId) return;
    await assertServer(tokenId, use.serverId);
    if (use.readOnly) return;
    const rules = await rulesOf(tokenId, 'command');
    if (!rules.some((r) => r.command === '*' && accountAllowed(r, use, actor.principal.username))) throw denied(`a shell as ${use.username} (it needs a command rule of "*")`);
  }

  /** A file moved into or out of a server: the server and a file rule must allow the path and direction. */
  async function assertFile(actor: Actor, use: { serverId: string; path: string; action: FileAction } & Account): Promise<void> {
    const tokenId = actor.principal.aclTokenId;
    if (!tokenId) return;
    await assertServer(tokenId, use.serverId);
    const rules = await rulesOf(tokenId, 'file');
    if (!rules.some((r) => fileAllowed({ path: r.path!, action: r.action! }, use.path, use.action) && accountAllowed(r, use, actor.principal.username))) {
      throw denied(`${use.action === 'upload' ? 'uploading to' : 'downloading'} ${normalizedPath(use.path)} as ${use.username}`);
    }
  }

  return { list, get, create, addServers, removeServers, remove, duplicateToken, assertCommand, assertShell, assertFile };
}
