import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import { isoAfter, nowIso } from '../clock.ts';
import { looksLikeJwt } from '../tokens/bearer-service.ts';
import { parseToken } from '../tokens/token-format.ts';

/** How long a first response is kept and replayed. */
const RETENTION_MS = 24 * 60 * 60 * 1000;
/** An in-flight key older than this belongs to a request that died with its process. */
const IN_FLIGHT_LOCK_MS = 5 * 60 * 1000;
const PURGE_INTERVAL_MS = 60_000;

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type IdempotencyClaim =
  /** The caller runs the request and then calls `complete` (or `release` when it failed). */
  | { outcome: 'first' }
  | { outcome: 'replay'; response: StoredResponse }
  /** The key was used for a different request. */
  | { outcome: 'mismatch' }
  /** The first request with this key is still running. */
  | { outcome: 'in_flight' };

export type IdempotencyService = ReturnType<typeof createIdempotencyService>;

/**
 * Idempotency keys, scoped to one credential: the first response to a key is stored for 24 h
 * and replayed for a retry of the same request. Expired keys are purged as the service is used.
 */
export function createIdempotencyService({ store }: { store: Pick<Store, 'db'> }) {
  const { db } = store;
  let lastPurge = 0;

  async function claim(credentialId: string, key: string, fingerprint: string): Promise<IdempotencyClaim> {
    await purgeNowAndThen();
    const now = nowIso();
    const fresh = { fingerprint, state: 'in_flight' as const, response_status: null, response_headers: null, response_body: null, created_at: now, expires_at: isoAfter(RETENTION_MS), locked_until: isoAfter(IN_FLIGHT_LOCK_MS) };
    try {
      await db.insertInto('idempotency_keys').values({ credential_id: credentialId, key, ...fresh }).execute();
      return { outcome: 'first' };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const existing = await db.selectFrom('idempotency_keys').selectAll().where('credential_id', '=', credentialId).where('key', '=', key).executeTakeFirst();
    if (!existing) return claim(credentialId, key, fingerprint);
    const abandoned = existing.expires_at <= now || (existing.state === 'in_flight' && existing.locked_until <= now);
    if (abandoned) {
      // Take the key over only if nobody else did since we read it.
      const taken = await db
        .updateTable('idempotency_keys')
        .set(fresh)
        .where('credential_id', '=', credentialId)
        .where('key', '=', key)
        .where('created_at', '=', existing.created_at)
        .where('locked_until', '=', existing.locked_until)
        .executeTakeFirst();
      return Number(taken.numUpdatedRows) === 1 ? { outcome: 'first' } : claim(credentialId, key, fingerprint);
    }
    if (existing.fingerprint !== fingerprint) return { outcome: 'mismatch' };
    if (existing.state === 'in_flight') return { outcome: 'in_flight' };
    return {
      outcome: 'replay',
      response: { status: existing.response_status!, headers: JSON.parse(existing.response_headers ?? '{}'), body: existing.response_body ?? '' },
    };
  }

  async function complete(credentialId: string, key: string, response: StoredResponse): Promise<void> {
    await db
      .updateTable('idempotency_keys')
      .set({ state: 'done', response_status: response.status, response_headers: JSON.stringify(response.headers), response_body: withoutSecrets(response.body) })
      .where('credential_id', '=', credentialId)
      .where('key', '=', key)
      .execute();
  }

  /** Forgets a key whose request failed on the server's side, so that a retry runs it again. */
  async function release(credentialId: string, key: string): Promise<void> {
    await db.deleteFrom('idempotency_keys').where('credential_id', '=', credentialId).where('key', '=', key).where('state', '=', 'in_flight').execute();
  }

  async function purgeExpired(now = nowIso()): Promise<number> {
    const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async function purgeNowAndThen(): Promise<void> {
    if (Date.now() - lastPurge < PURGE_INTERVAL_MS) return;
    lastPurge = Date.now();
    await purgeExpired();
  }

  return { claim, complete, release, purgeExpired };
}

/** Any secret Nimbus issues: a checksummed token of any kind (API token, credential password, client secret...) or a bearer JWT. */
const isSecret = (value: string) => parseToken(value) !== null || looksLikeJwt(value);

/**
 * A response body as it may be kept for replays: every secret it shows (a new token's key, a
 * credential's password, a client secret, a bearer) is shown once and never stored, so each is
 * replaced by null, and a replay of an object says why in `detail`. Found by what the values
 * are rather than by field names, so a route added later cannot store one by mistake.
 */
export function withoutSecrets(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const omitted: string[] = [];
  const strip = (value: unknown, name: string): unknown => {
    if (typeof value === 'string') {
      if (!isSecret(value)) return value;
      omitted.push(name);
      return null;
    }
    if (Array.isArray(value)) return value.map((item) => strip(item, name));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v, k)]));
    return value;
  };
  const stripped = strip(parsed, 'value');
  if (omitted.length === 0) return body;
  const names = [...new Set(omitted)].join(', ');
  const detail = `This is a replay: ${names} was shown once, in the first response, and is not kept.`;
  return JSON.stringify(stripped && typeof stripped === 'object' && !Array.isArray(stripped) ? { ...stripped, detail } : stripped);
}
