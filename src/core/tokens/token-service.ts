import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import type { Kysely } from 'kysely';
import type { ApiTokenRow, Database } from '../../store/schema.ts';
import { assertScope, type Actor, type CredentialKind, type Principal } from '../actor.ts';
import type { AuditService, RequestContext } from '../audit/audit-service.ts';
import { isUuid, newId, nowIso, parseTimestamp } from '../clock.ts';
import { NotFound, PermissionDenied, Unauthenticated, ValidationFailed, type FieldErrors } from '../errors.ts';
import { expandScopes, isValidScope, permissionsBeyond } from '../iam/permissions.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { inheritTokenAcl } from '../token-acl/acl-inheritance.ts';
import { CredentialCache, type VerifiedCredential } from '../auth/credential-cache.ts';
import { TtlCache } from '../ttl-cache.ts';
import { generateAccountToken, generatePersonalToken, generateToken, hashToken, looksLikeAccountToken, parseToken, personalPrefixOf, renewedExpiry, tokenDisplayParts, type PersonalTokenPrefix, type StoredTokenKind } from './token-format.ts';

/** `last_used_at` is written at most this often per token: reads must not become writes. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const NAME_MAX = 100;

export interface NewToken {
  userId: string;
  organizationId: string;
  kind: StoredTokenKind;
  name: string;
  scopes: string[];
  expiresAt: string | null;
  issuedFromCredentialId?: string | null;
  /** A sliding expiry: each use moves `expiresAt` this many seconds ahead. */
  idleTimeoutSeconds?: number | null;
  /** A personal token's platform prefix (Scalingo's `tk-us-`) instead of `nbpat_`. */
  prefix?: PersonalTokenPrefix | null;
}

/** Who a personal token is made for when no credential is acting (a password was checked instead). */
export interface TokenOwner {
  id: string;
  username: string;
  organizationId: string;
}

/** A token as its owner may see it: never the secret. */
export interface ApiToken {
  id: string;
  name: string;
  kind: string;
  scopes: string[];
  displayPrefix: string;
  lastFour: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface TokenInput {
  name?: string;
  scopes?: string[];
  expiresAt?: string | null;
}

const listSpec: ListSpec = {
  filters: { name: (query, value) => query.where('name', '=', value) },
  searchColumns: ['name'],
  orderings: { name: 'name', created_at: 'created_at' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

function toApiToken(row: ApiTokenRow): ApiToken {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    scopes: JSON.parse(row.scopes) as string[],
    displayPrefix: row.display_prefix,
    lastFour: row.last_four,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  };
}

export type TokenService = ReturnType<typeof createTokenService>;

export function createTokenService({ store, audit, credentialCache }: { store: Pick<Store, 'db'>; audit: AuditService; credentialCache: CredentialCache }) {
  const { db } = store;
  const lastUsedWrites = new TtlCache<string, number>(LAST_USED_WRITE_INTERVAL_MS);

  /** `within` is a transaction when the token must be created with other rows, or not at all. */
  async function create(input: NewToken, within: Kysely<Database> = db): Promise<{ row: ApiTokenRow; secret: string }> {
    const secret = input.kind === 'account' ? generateAccountToken() : input.kind === 'personal' && input.prefix ? generatePersonalToken(input.prefix) : generateToken(input.kind);
    const { displayPrefix, lastFour } = tokenDisplayParts(secret);
    const row: ApiTokenRow = {
      id: newId(),
      user_id: input.userId,
      organization_id: input.organizationId,
      kind: input.kind,
      name: input.name,
      token_hash: hashToken(secret),
      display_prefix: displayPrefix,
      last_four: lastFour,
      scopes: JSON.stringify(input.scopes),
      expires_at: input.expiresAt,
      last_used_at: null,
      revoked_at: null,
      created_at: nowIso(),
      issued_from_credential_id: input.issuedFromCredentialId ?? null,
      idle_timeout_seconds: input.idleTimeoutSeconds ?? null,
      acl_bound: 0,
    };
    await within.insertInto('api_tokens').values(row).execute();
    return { row, secret };
  }

  const principalQuery = () =>
    db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .innerJoin('organizations', 'organizations.id', 'api_tokens.organization_id')
      .select([
        'api_tokens.id',
        'api_tokens.kind',
        'api_tokens.token_hash',
        'api_tokens.organization_id',
        'api_tokens.scopes',
        'api_tokens.expires_at',
        'api_tokens.revoked_at',
        'api_tokens.last_used_at',
        'api_tokens.idle_timeout_seconds',
        'api_tokens.acl_bound',
        'users.id as user_id',
        'users.username',
        'users.is_active',
        'users.is_staff',
        'users.is_superuser',
        'organizations.path as organization_path',
      ]);
  type PrincipalRow = NonNullable<Awaited<ReturnType<ReturnType<typeof principalQuery>['executeTakeFirst']>>>;

  /** Checks a token row is usable and turns it into a principal; the same rules for every path in. */
  function principalOf(row: PrincipalRow, now: number): VerifiedCredential {
    if (row.revoked_at) throw new Unauthenticated('Token has been revoked.', 'token_revoked');
    const tokenExpiresAt = row.expires_at ? Date.parse(row.expires_at) : Number.POSITIVE_INFINITY;
    if (tokenExpiresAt <= now) throw new Unauthenticated('Token has expired.', 'token_expired');
    if (!row.is_active) throw new Unauthenticated('User inactive or deleted.', 'authentication_failed');
    return {
      expiresAt: tokenExpiresAt,
      revokedWith: [row.id],
      principal: {
        userId: row.user_id,
        username: row.username,
        organizationId: row.organization_id,
        organizationPath: row.organization_path,
        isSuperuser: row.is_superuser === 1,
        isStaff: row.is_staff === 1,
        credentialId: row.id,
        credentialKind: row.kind as CredentialKind,
        scopes: JSON.parse(row.scopes) as string[],
        ...(row.acl_bound === 1 ? { aclTokenId: row.id } : {}),
      },
    };
  }

  /** Resolves a presented token to its principal, or throws `Unauthenticated`. */
  async function authenticate(secret: string): Promise<Principal> {
    const kind = looksLikeAccountToken(secret) ? 'account' : parseToken(secret);
    if (kind !== 'personal' && kind !== 'session' && kind !== 'api_key' && kind !== 'account') throw new Unauthenticated('Invalid token.', 'authentication_failed');
    const hash = hashToken(secret);
    return credentialCache.resolve(hash, async (now) => {
      const row = await principalQuery().where('api_tokens.token_hash', '=', hash).executeTakeFirst();
      // The lookup is by hash; the constant-time comparison keeps the final check free of timing signal.
      if (!row || row.kind !== kind || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) {
        throw new Unauthenticated('Invalid token.', 'authentication_failed');
      }
      const verified = principalOf(row, now);
      await slide(row, verified, now);
      await touch(row.id, row.last_used_at, now);
      return verified;
    });
  }

  /** A use of a token with a sliding expiry moves the expiry ahead (written at most once a minute). */
  async function slide(row: PrincipalRow, entry: VerifiedCredential, now: number): Promise<void> {
    if (row.idle_timeout_seconds === null) return;
    const renewed = renewedExpiry(entry.expiresAt, row.idle_timeout_seconds, now);
    if (renewed === null) return;
    // Never revives: only a token that has not expired in the meantime moves.
    await db.updateTable('api_tokens').set({ expires_at: new Date(renewed).toISOString() }).where('id', '=', row.id).where('expires_at', '>', new Date(now).toISOString()).execute();
    entry.expiresAt = renewed;
  }

  /** The principal of a live token by id: a bearer's parent must still be valid. */
  async function principalById(tokenId: string): Promise<Principal> {
    return credentialCache.resolve(`id:${tokenId}`, async (now) => {
      const row = isUuid(tokenId) ? await principalQuery().where('api_tokens.id', '=', tokenId).executeTakeFirst() : undefined;
      if (!row) throw new Unauthenticated('Invalid token.', 'authentication_failed');
      const verified = principalOf(row, now);
      await touch(row.id, row.last_used_at, now);
      return verified;
    });
  }

  async function touch(tokenId: string, lastUsedAt: string | null, now: number): Promise<void> {
    const lastWrite = Math.max(lastUsedWrites.get(tokenId, now) ?? 0, lastUsedAt ? Date.parse(lastUsedAt) : 0);
    if (now - lastWrite < LAST_USED_WRITE_INTERVAL_MS) return;
    lastUsedWrites.set(tokenId, now, now);
    await db.updateTable('api_tokens').set({ last_used_at: new Date(now).toISOString() }).where('id', '=', tokenId).execute();
  }

  const forget = (tokenIds: Set<string>) => credentialCache.forget(tokenIds);

  async function revoke(tokenId: string): Promise<void> {
    await db.updateTable('api_tokens').set({ revoked_at: nowIso() }).where('id', '=', tokenId).where('revoked_at', 'is', null).execute();
    forget(new Set([tokenId]));
  }

  /** Revokes the live tokens `ids` finds (a select of `api_tokens.id`), and forgets them here. */
  async function revokeFound(ids: { execute(): Promise<{ id: string }[]> }): Promise<void> {
    const found = (await ids.execute()).map((r) => r.id);
    if (!found.length) return;
    await db.updateTable('api_tokens').set({ revoked_at: nowIso() }).where('id', 'in', found).where('revoked_at', 'is', null).execute();
    forget(new Set(found));
  }

  const liveTokens = () => db.selectFrom('api_tokens').select('id').where('revoked_at', 'is', null);

  /** Revokes every live token issued while authenticated with an API credential. */
  async function revokeIssuedFrom(credentialId: string): Promise<void> {
    await revokeFound(liveTokens().where('issued_from_credential_id', '=', credentialId));
  }

  /** Revokes a user's login sessions, but the one given (a password change keeps the caller signed in). */
  async function revokeSessionsOf(userId: string, keep: string | null): Promise<void> {
    let sessions = liveTokens().where('user_id', '=', userId).where('kind', '=', 'session');
    if (keep) sessions = sessions.where('id', '!=', keep);
    await revokeFound(sessions);
  }

  // --- The caller's own API tokens (/api/auth/tokens/) ---

  const ownTokens = (actor: Actor) => db.selectFrom('api_tokens').selectAll().where('user_id', '=', actor.principal.userId).where('kind', '=', 'personal');

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<ApiToken>> {
    assertScope(actor, 'token:read');
    const result = await runList<ApiTokenRow>(db, ownTokens(actor), listSpec, request);
    return { ...result, items: result.items.map(toApiToken) } as ListResult<ApiToken>;
  }

  async function findOwn(actor: Actor, id: string): Promise<ApiTokenRow> {
    const row = isUuid(id) ? await ownTokens(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('token', 'No token matches the given query.');
    return row;
  }

  async function get(actor: Actor, id: string): Promise<ApiToken> {
    assertScope(actor, 'token:read');
    return toApiToken(await findOwn(actor, id));
  }

  /** A personal token's name, scopes and expiry, checked. */
  function checkedInput(input: TokenInput): { name: string; scopes: string[]; expiresAt: string | null } {
    const errors: FieldErrors = {};
    const name = input.name?.trim() ?? '';
    if (input.name === undefined) errors.name = ['This field is required.'];
    else if (!name) errors.name = ['This field may not be blank.'];
    else if (name.length > NAME_MAX) errors.name = [`Ensure this field has no more than ${NAME_MAX} characters.`];
    const scopes = input.scopes?.length ? [...new Set(input.scopes)] : ['*'];
    const invalid = scopes.filter((s) => !isValidScope(s));
    if (invalid.length) errors.scopes = invalid.map((s) => `"${s}" is not a valid scope. Use resource:action (see /api/auth/tokens/scopes/).`);
    const expiresAt = input.expiresAt ? parseTimestamp(input.expiresAt) : null;
    if (input.expiresAt && !expiresAt) errors.expiresAt = ['Enter a valid date and time (second 60 is not accepted).'];
    else if (expiresAt && Date.parse(expiresAt) <= Date.now()) errors.expiresAt = ['The expiry must be in the future.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return { name, scopes, expiresAt };
  }

  /**
   * Creates a personal token for the caller. Its scopes may not reach beyond the scopes of the
   * credential creating it: a narrowed token cannot mint a wider one.
   */
  async function createFor(actor: Actor, input: TokenInput, prefix: PersonalTokenPrefix | null = null): Promise<{ token: ApiToken; secret: string }> {
    assertScope(actor, 'token:write');
    const { name, scopes, expiresAt } = checkedInput(input);
    if (permissionsBeyond(actor.principal.scopes, expandScopes(scopes)).length) {
      throw new PermissionDenied('A token cannot be given scopes beyond those of the credential creating it.', 'api_token_acl_not_allowed');
    }
    const { aclTokenId } = actor.principal;
    const { row, secret } = await db.transaction().execute(async (trx) => {
      const made = await create({
        userId: actor.principal.userId,
        organizationId: actor.principal.organizationId,
        kind: 'personal',
        name,
        scopes,
        expiresAt,
        issuedFromCredentialId: actor.principal.credentialKind === 'api_credential' ? actor.principal.credentialId : null,
        prefix,
      }, trx);
      if (aclTokenId) await inheritTokenAcl(trx, aclTokenId, made.row.id);
      return made;
    });
    await audit.recordFor(actor, { action: 'token_created', targetType: 'token', targetId: row.id, detail: { name, scopes } });
    return { token: toApiToken(row), secret };
  }

  /**
   * A new token with the scopes and expiry of one of the caller's own tokens (Alpacon's
   * duplicate), named `name` or after the original. The same rules as creating apply: the copy
   * may not reach beyond the calling credential, nor expire in the past.
   */
  async function duplicateFor(actor: Actor, id: string, input: { name?: string }): Promise<{ token: ApiToken; secret: string }> {
    assertScope(actor, 'token:write');
    const original = await findOwn(actor, id);
    const suffix = ' (copy)';
    const name = input.name?.trim() || `${original.name.slice(0, NAME_MAX - suffix.length)}${suffix}`;
    return createFor(actor, { name, scopes: JSON.parse(original.scopes) as string[], expiresAt: original.expires_at }, personalPrefixOf(original.display_prefix));
  }

  /** Creates a personal token for a user whose password was just checked (no credential acts). */
  async function createForOwner(context: RequestContext, owner: TokenOwner, input: TokenInput, prefix: PersonalTokenPrefix | null = null): Promise<{ token: ApiToken; secret: string }> {
    const { name, scopes, expiresAt } = checkedInput(input);
    const { row, secret } = await create({ userId: owner.id, organizationId: owner.organizationId, kind: 'personal', name, scopes, expiresAt, prefix });
    await audit.record(context, { action: 'token_created', organizationId: owner.organizationId, userId: owner.id, username: owner.username, targetType: 'token', targetId: row.id, detail: { name, scopes } });
    return { token: toApiToken(row), secret };
  }

  /**
   * Replaces one of the caller's live tokens with a new secret (a new token of the same name,
   * scopes, expiry and prefix); the old one, and the bearers exchanged for it, stop working.
   */
  async function renewFor(actor: Actor, id: string): Promise<{ token: ApiToken; secret: string }> {
    assertScope(actor, 'token:write');
    const old = await findOwn(actor, id);
    if (old.revoked_at) throw new NotFound('token', 'No token matches the given query.');
    const renewed = await db.transaction().execute(async (trx) => {
      const made = await create(
        {
          userId: old.user_id,
          organizationId: old.organization_id,
          kind: 'personal',
          name: old.name,
          scopes: JSON.parse(old.scopes) as string[],
          expiresAt: old.expires_at,
          issuedFromCredentialId: old.issued_from_credential_id,
          prefix: personalPrefixOf(old.display_prefix),
        },
        trx,
      );
      const revoked = await trx.updateTable('api_tokens').set({ revoked_at: nowIso() }).where('id', '=', old.id).where('revoked_at', 'is', null).executeTakeFirst();
      // Renewed twice at once: only one of the two new tokens may live.
      if (Number(revoked.numUpdatedRows) !== 1) throw new NotFound('token', 'No token matches the given query.');
      await audit.recordFor(actor, { action: 'token_renewed', targetType: 'token', targetId: made.row.id, detail: { name: old.name, replaces: old.id } }, trx);
      return made;
    });
    forget(new Set([old.id]));
    return { token: toApiToken(renewed.row), secret: renewed.secret };
  }

  async function revokeFor(actor: Actor, id: string): Promise<void> {
    assertScope(actor, 'token:write');
    const row = await findOwn(actor, id);
    await revoke(row.id);
    await audit.recordFor(actor, { action: 'token_revoked', targetType: 'token', targetId: row.id, detail: { name: row.name } });
  }

  return { create, authenticate, principalById, forget, revoke, revokeFound, revokeIssuedFrom, revokeSessionsOf, list, get, createFor, createForOwner, duplicateFor, renewFor, revokeFor };
}
