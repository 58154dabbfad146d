import { randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import type { Store } from '../../store/database.ts';
import { withAdvisoryLock } from '../../store/locks.ts';
import type { SigningKeyRow } from '../../store/schema.ts';
import type { Actor, Principal } from '../actor.ts';
import type { AuditService } from '../audit/audit-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { digest } from '../digest.ts';
import { SecretKeyMismatch, type SecretBox } from '../secrets/secret-box.ts';
import { PermissionDenied, Unauthenticated } from '../errors.ts';
import { TtlCache } from '../ttl-cache.ts';
import type { TokenService } from './token-service.ts';

/** A bearer lives one hour: clients (go-scalingo) refresh it from its `exp` claim. */
export const BEARER_LIFETIME_SECONDS = 3600;
const ISSUER = 'nimbus';
const ALGORITHM = 'HS256';
const SIGNING_KEY_LOCK_ID = 727_101;
/** An unknown `kid` is looked up in the database at most this often. */
const MISSING_KEY_TTL_MS = 5_000;
/** A verified bearer's claims are reused this long (its parent token is still checked every time). */
const VERIFIED_TTL_MS = 2_000;

export interface BearerSettings {
  /** How long a signing key signs new bearers before the next one takes over, in seconds. */
  keyRotationSeconds: number;
}

interface VerificationKey {
  secret: Uint8Array;
  expiresAt: number;
}

export type BearerService = ReturnType<typeof createBearerService>;

/**
 * Short-lived JWT bearers exchanged for an API token. Signing keys are rows of
 * `signing_keys`, so every replica verifies what any replica signed; a key signs for
 * `keyRotationSeconds`, then stays valid for verification until its last bearer has expired.
 * Each bearer names its parent token (`ptid`): revoking the parent refuses its bearers.
 * The keys are stored sealed by `secrets` (a key kept outside the database), bound to their id.
 */
export function createBearerService(deps: { store: Store; tokens: TokenService; audit: AuditService; settings: BearerSettings; secrets: SecretBox }) {
  const { store, tokens, audit, settings, secrets } = deps;
  const { db } = store;
  const verificationKeys = new Map<string, VerificationKey>();
  const missingKeys = new TtlCache<string, true>(MISSING_KEY_TTL_MS);
  // Keyed by the bearer's hash, like the token cache: signature checks are the costly part.
  const verified = new TtlCache<string, { parentId: string; userId: string; expiresAt: number }>(VERIFIED_TTL_MS);
  let signing: { kid: string; secret: Uint8Array; retireAt: number } | null = null;

  function remember(row: SigningKeyRow): VerificationKey {
    const key = { secret: secrets.open(row.secret, row.id), expiresAt: Date.parse(row.expires_at) };
    verificationKeys.set(row.id, key);
    return key;
  }

  /** The key that signs now; the first replica to need a new one creates it, under a lock. */
  async function signingKey(now: number) {
    if (signing && signing.retireAt > now) return signing;
    const row = await withAdvisoryLock(store, SIGNING_KEY_LOCK_ID, async (trx) => {
      const current = await trx.selectFrom('signing_keys').selectAll().where('retire_at', '>', new Date(now).toISOString()).orderBy('retire_at', 'desc').executeTakeFirst();
      if (current) return current;
      await trx.deleteFrom('signing_keys').where('expires_at', '<', new Date(now).toISOString()).execute();
      const retireAt = now + settings.keyRotationSeconds * 1000;
      const id = newId();
      const created: SigningKeyRow = {
        id,
        algorithm: ALGORITHM,
        secret: secrets.seal(randomBytes(32), id),
        created_at: nowIso(),
        retire_at: new Date(retireAt).toISOString(),
        expires_at: new Date(retireAt + BEARER_LIFETIME_SECONDS * 1000).toISOString(),
      };
      await trx.insertInto('signing_keys').values(created).execute();
      return created;
    });
    const key = remember(row);
    signing = { kid: row.id, secret: key.secret, retireAt: Date.parse(row.retire_at) };
    return signing;
  }

  async function verificationKey(kid: string | undefined, now: number): Promise<Uint8Array> {
    if (!kid || !isUuid(kid)) throw new Unauthenticated('Invalid bearer token.', 'authentication_failed');
    let key = verificationKeys.get(kid);
    if (!key && !missingKeys.get(kid, now)) {
      const row = await db.selectFrom('signing_keys').selectAll().where('id', '=', kid).executeTakeFirst();
      if (row) key = remember(row);
      else missingKeys.set(kid, true, now);
    }
    if (!key || key.expiresAt <= now) throw new Unauthenticated('Invalid bearer token.', 'authentication_failed');
    return key.secret;
  }

  /** Exchanges the caller's API token (personal or session) for a one-hour bearer. */
  async function exchange(actor: Actor): Promise<{ token: string; expiresAt: string }> {
    const { principal } = actor;
    if (principal.credentialKind !== 'personal' && principal.credentialKind !== 'session') {
      throw new PermissionDenied('Only an API token can be exchanged for a bearer token.', 'exchange_not_allowed');
    }
    const now = Date.now();
    const key = await signingKey(now);
    const exp = Math.floor(now / 1000) + BEARER_LIFETIME_SECONDS;
    const token = await new SignJWT({ ptid: principal.credentialId })
      .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(principal.userId)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(exp)
      .sign(key.secret);
    await audit.recordFor(actor, { action: 'token_exchanged', targetType: 'token', targetId: principal.credentialId });
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  async function verify(jwt: string, now: number): Promise<{ parentId: string; userId: string; expiresAt: number }> {
    const cacheKey = digest('sha256', jwt, 'base64url');
    const cached = verified.get(cacheKey, now);
    if (cached) {
      if (cached.expiresAt <= now) throw new Unauthenticated('Bearer token has expired.', 'token_expired');
      return cached;
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(jwt, (header: JWTHeaderParameters) => verificationKey(header.kid, now), {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof Unauthenticated) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new Unauthenticated('Bearer token has expired.', 'token_expired');
      if (error instanceof joseErrors.JOSEError) throw new Unauthenticated('Invalid bearer token.', 'authentication_failed');
      throw error;
    }
    if (typeof payload.ptid !== 'string' || typeof payload.sub !== 'string') throw new Unauthenticated('Invalid bearer token.', 'authentication_failed');
    const claims = { parentId: payload.ptid, userId: payload.sub, expiresAt: payload.exp! * 1000 };
    verified.set(cacheKey, claims, now);
    return claims;
  }

  /** The principal behind a bearer: a valid signature, not expired, and a parent token still alive. */
  async function authenticate(jwt: string): Promise<Principal> {
    const claims = await verify(jwt, Date.now());
    const parent = await tokens.principalById(claims.parentId);
    if (parent.userId !== claims.userId) throw new Unauthenticated('Invalid bearer token.', 'authentication_failed');
    return { ...parent, credentialKind: 'bearer' };
  }

  /**
   * At start-up: seals the signing keys stored before keys were sealed (raw base64url), and
   * refuses to start when the others were sealed with another secret key (a replica configured
   * with the wrong key would refuse every bearer the others sign). Safe to run on every replica
   * at once: a raw row changes only while it still holds the raw key.
   */
  async function prepareStoredKeys(): Promise<{ sealed: number }> {
    const rows = await db.selectFrom('signing_keys').select(['id', 'secret']).execute();
    let sealed = 0;
    for (const row of rows) {
      if (!secrets.isSealed(row.secret)) {
        const result = await db.updateTable('signing_keys').set({ secret: secrets.seal(Buffer.from(row.secret, 'base64url'), row.id) }).where('id', '=', row.id).where('secret', '=', row.secret).executeTakeFirst();
        sealed += Number(result.numUpdatedRows);
        continue;
      }
      try {
        secrets.open(row.secret, row.id);
      } catch (error) {
        if (!(error instanceof SecretKeyMismatch)) throw error;
        throw new SecretKeyMismatch(
          'the bearer signing keys in the database were sealed with another secret key: give every process the same NIMBUS_SECRET_KEY or <data dir>/secret.key ' +
            '(if that key is lost, delete the rows of the signing_keys table: the bearers issued so far stop working, nothing else is lost)',
        );
      }
    }
    return { sealed };
  }

  return { exchange, authenticate, prepareStoredKeys };
}

/** Whether a presented credential is a JWT (three base64url parts) rather than an API token. */
export function looksLikeJwt(value: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(value);
}
