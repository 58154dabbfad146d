import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../../store/database.ts';
import type { Kysely } from 'kysely';
import type { ApiTokenRow, Database } from '../../store/schema.ts';
import type { Principal } from '../actor.ts';
import { newId, nowIso } from '../clock.ts';
import { Unauthenticated } from '../errors.ts';
import { generateToken, hashToken, parseToken, tokenDisplayParts, type TokenKind } from './token-format.ts';

/** How long a verified token is trusted without reading the database again. */
const CACHE_TTL_MS = 2_000;
/** `last_used_at` is written at most this often per token: reads must not become writes. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
const CACHE_LIMIT = 10_000;

export interface NewToken {
  userId: string;
  organizationId: string;
  kind: TokenKind;
  name: string;
  scopes: string[];
  expiresAt: string | null;
}

interface CachedPrincipal {
  principal: Principal;
  tokenExpiresAt: number;
  cachedUntil: number;
}

export type TokenService = ReturnType<typeof createTokenService>;

export function createTokenService({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;
  const cache = new Map<string, CachedPrincipal>();
  const lastUsedWrites = new Map<string, number>();

  /** `within` is a transaction when the token must be created with other rows, or not at all. */
  async function create(input: NewToken, within: Kysely<Database> = db): Promise<{ row: ApiTokenRow; secret: string }> {
    const secret = generateToken(input.kind);
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
    };
    await within.insertInto('api_tokens').values(row).execute();
    return { row, secret };
  }

  /** Resolves a presented token to its principal, or throws `Unauthenticated`. */
  async function authenticate(secret: string): Promise<Principal> {
    if (!parseToken(secret)) throw new Unauthenticated('Invalid token.', 'authentication_failed');
    const hash = hashToken(secret);
    const now = Date.now();
    const cached = cache.get(hash);
    if (cached && cached.cachedUntil > now && cached.tokenExpiresAt > now) return cached.principal;

    const row = await db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .innerJoin('organizations', 'organizations.id', 'api_tokens.organization_id')
      .select([
        'api_tokens.id',
        'api_tokens.token_hash',
        'api_tokens.organization_id',
        'api_tokens.scopes',
        'api_tokens.expires_at',
        'api_tokens.revoked_at',
        'api_tokens.last_used_at',
        'users.id as user_id',
        'users.username',
        'users.is_active',
        'users.is_staff',
        'users.is_superuser',
        'organizations.path as organization_path',
      ])
      .where('api_tokens.token_hash', '=', hash)
      .executeTakeFirst();
    // The lookup is by hash; the constant-time comparison keeps the final check free of timing signal.
    if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) {
      throw new Unauthenticated('Invalid token.', 'authentication_failed');
    }
    if (row.revoked_at) throw new Unauthenticated('Token has been revoked.', 'token_revoked');
    const tokenExpiresAt = row.expires_at ? Date.parse(row.expires_at) : Number.POSITIVE_INFINITY;
    if (tokenExpiresAt <= now) throw new Unauthenticated('Token has expired.', 'token_expired');
    if (!row.is_active) throw new Unauthenticated('User inactive or deleted.', 'authentication_failed');

    const principal: Principal = {
      userId: row.user_id,
      username: row.username,
      organizationId: row.organization_id,
      organizationPath: row.organization_path,
      isSuperuser: row.is_superuser === 1,
      isStaff: row.is_staff === 1,
      credentialId: row.id,
      scopes: JSON.parse(row.scopes) as string[],
    };
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(hash, { principal, tokenExpiresAt, cachedUntil: now + CACHE_TTL_MS });
    await touch(row.id, row.last_used_at, now);
    return principal;
  }

  async function touch(tokenId: string, lastUsedAt: string | null, now: number): Promise<void> {
    const lastWrite = Math.max(lastUsedWrites.get(tokenId) ?? 0, lastUsedAt ? Date.parse(lastUsedAt) : 0);
    if (now - lastWrite < LAST_USED_WRITE_INTERVAL_MS) return;
    if (lastUsedWrites.size >= CACHE_LIMIT) lastUsedWrites.clear();
    lastUsedWrites.set(tokenId, now);
    await db.updateTable('api_tokens').set({ last_used_at: new Date(now).toISOString() }).where('id', '=', tokenId).execute();
  }

  async function revoke(tokenId: string): Promise<void> {
    await db.updateTable('api_tokens').set({ revoked_at: nowIso() }).where('id', '=', tokenId).where('revoked_at', 'is', null).execute();
    for (const [hash, entry] of cache) if (entry.principal.credentialId === tokenId) cache.delete(hash);
  }

  return { create, authenticate, revoke };
}
