import type { Store } from '../../store/database.ts';
import type { ApiTokenRow } from '../../store/schema.ts';
import { assertScope, type Actor } from '../actor.ts';
import type { AuditService, RequestContext } from '../audit/audit-service.ts';
import type { AuthService } from '../auth/auth-service.ts';
import { isoAfter, isUuid, nowIso } from '../clock.ts';
import { NotFound, ValidationFailed } from '../errors.ts';
import { hashToken } from './token-format.ts';
import type { TokenService } from './token-service.ts';

/**
 * Account tokens: what a password buys a legacy client (Scaleway's account API). The secret is
 * a UUID the client sends as it is; it either never expires or expires after a period without
 * use, each use moving the expiry ahead (the token machinery slides it). They are the user's
 * own, with every permission the user has, and are managed by the user alone.
 */

/** A sliding token lives this long after its last use. */
export const ACCOUNT_TOKEN_IDLE_SECONDS = 30 * 60;
const DESCRIPTION_MAX = 200;

export interface AccountToken {
  id: string;
  userId: string;
  organizationId: string;
  description: string;
  /** Null for a token that never expires. */
  expiresAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface AccountTokenInput {
  username?: string;
  email?: string;
  password?: string;
  /** True: the expiry slides (it ends after a period without use); false: the token never expires. */
  expires?: boolean;
  description?: string;
}

function toAccountToken(row: ApiTokenRow): AccountToken {
  return {
    id: row.id,
    userId: row.user_id,
    organizationId: row.organization_id,
    description: row.name,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The columns that make a token expire by idleness, or never. */
function expiryOf(expires: boolean) {
  return expires
    ? { expires_at: isoAfter(ACCOUNT_TOKEN_IDLE_SECONDS * 1000), idle_timeout_seconds: ACCOUNT_TOKEN_IDLE_SECONDS }
    : { expires_at: null, idle_timeout_seconds: null };
}

function checkDescription(description: string | undefined): void {
  if (description !== undefined && description.length > DESCRIPTION_MAX) {
    throw ValidationFailed.field('description', `Ensure this field has no more than ${DESCRIPTION_MAX} characters.`);
  }
}

export type AccountTokenService = ReturnType<typeof createAccountTokenService>;

export function createAccountTokenService({ store, tokens, auth, audit }: { store: Pick<Store, 'db'>; tokens: TokenService; auth: Pick<AuthService, 'checkPassword'>; audit: AuditService }) {
  const { db } = store;

  const liveOwn = (actor: Actor) =>
    db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_id', '=', actor.principal.userId)
      .where('kind', '=', 'account')
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowIso())]));

  /** A password exchanged for a token; wrong credentials are throttled like any login. */
  async function create(context: RequestContext, input: AccountTokenInput): Promise<{ token: AccountToken; secret: string }> {
    checkDescription(input.description);
    const user = await auth.checkPassword(context, { username: input.username, email: input.email, password: input.password });
    const expiry = expiryOf(input.expires === true);
    const { row, secret } = await tokens.create({
      userId: user.id,
      organizationId: user.organizationId,
      kind: 'account',
      name: input.description ?? '',
      scopes: ['*'],
      expiresAt: expiry.expires_at,
      idleTimeoutSeconds: expiry.idle_timeout_seconds,
    });
    await audit.record(context, {
      action: 'token_created',
      organizationId: user.organizationId,
      userId: user.id,
      username: user.username,
      targetType: 'token',
      targetId: row.id,
      detail: { kind: 'account', expires: input.expires === true },
    });
    return { token: toAccountToken(row), secret };
  }

  async function list(actor: Actor): Promise<AccountToken[]> {
    assertScope(actor, 'token:read');
    return (await liveOwn(actor).orderBy('created_at', 'desc').orderBy('id').execute()).map(toAccountToken);
  }

  /** One of the caller's live tokens, named by its id or by its secret (what the client holds). */
  async function find(actor: Actor, reference: string): Promise<ApiTokenRow> {
    const row = isUuid(reference)
      ? await liveOwn(actor)
          .where((eb) => eb.or([eb('id', '=', reference), eb('token_hash', '=', hashToken(reference))]))
          .executeTakeFirst()
      : undefined;
    if (!row) throw new NotFound('token', 'No token matches the given query.');
    return row;
  }

  async function get(actor: Actor, reference: string): Promise<AccountToken> {
    assertScope(actor, 'token:read');
    return toAccountToken(await find(actor, reference));
  }

  async function update(actor: Actor, reference: string, input: Pick<AccountTokenInput, 'expires' | 'description'>): Promise<AccountToken> {
    assertScope(actor, 'token:write');
    const row = await find(actor, reference);
    checkDescription(input.description);
    const changes = { ...(input.description !== undefined ? { name: input.description } : {}), ...(input.expires !== undefined ? expiryOf(input.expires) : {}) };
    if (Object.keys(changes).length) await db.updateTable('api_tokens').set(changes).where('id', '=', row.id).execute();
    // Other replicas see the new expiry once their cache entry lapses (2 s).
    tokens.forget(new Set([row.id]));
    return toAccountToken({ ...row, ...changes });
  }

  async function remove(actor: Actor, reference: string): Promise<void> {
    assertScope(actor, 'token:write');
    const row = await find(actor, reference);
    await tokens.revoke(row.id);
    await audit.recordFor(actor, { action: 'token_revoked', targetType: 'token', targetId: row.id, detail: { kind: 'account' } });
  }

  return { create, list, get, update, remove };
}
