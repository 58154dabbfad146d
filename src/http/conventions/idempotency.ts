import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationFailed } from '../../core/errors.ts';
import type { IdempotencyService } from '../../core/idempotency/idempotency-service.ts';
import { HttpError } from '../errors.ts';

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

/** JSON with object keys sorted, so that two encodings of one body fingerprint alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** What makes two requests "the same request" for a key: method, URL and body. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${url}\n${canonicalJson(body)}`).digest('hex');
}

/**
 * `Idempotency-Key` on every mutating POST of the scope it is added to. Keys belong to the
 * calling credential. The first request's response (status, body, location) is stored for 24 h
 * and replayed, with `Idempotent-Replayed: true`, to a retry of the same request; the same key
 * with another method, URL or body is a 422; while the first request is still running, a 409.
 * A response of 500 or more is not stored, so the retry runs again.
 */
export function honourIdempotencyKeys(app: FastifyInstance, idempotency: IdempotencyService): void {
  const owned = new WeakMap<FastifyRequest, { credentialId: string; key: string }>();

  // preValidation: the body is parsed but not yet normalised by the schema, so it is hashed as sent.
  // Not async: most requests carry no key, and they go on without a promise (Fastify awaits the one returned otherwise).
  app.addHook('preValidation', (request, reply, done) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined || !request.actor) return done();
    return claim(request, reply, key);
  });

  async function claim(request: FastifyRequest, reply: FastifyReply, key: string | string[]): Promise<unknown> {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw ValidationFailed.field('Idempotency-Key', 'Send 1 to 255 visible ASCII characters, for instance a UUID.');
    }
    const credentialId = request.actor.principal.credentialId;
    const claimed = await idempotency.claim(credentialId, key, requestFingerprint(request.method, request.url, request.body));
    switch (claimed.outcome) {
      case 'first':
        owned.set(request, { credentialId, key });
        return;
      case 'replay':
        reply.code(claimed.response.status).headers({ ...claimed.response.headers, 'idempotent-replayed': 'true' });
        return reply.send(claimed.response.body);
      case 'mismatch':
        throw new HttpError(422, 'idempotency_key_reused', 'This Idempotency-Key was already used with a different request.');
      case 'in_flight':
        throw new HttpError(409, 'idempotency_key_in_use', 'A request with this Idempotency-Key is still being processed; retry later.');
    }
  }

  app.addHook('onSend', (request, reply, payload, done) => {
    const mine = owned.get(request);
    if (!mine) return done(null, payload);
    owned.delete(request);
    return store(request, reply, payload, mine);
  });

  async function store(request: FastifyRequest, reply: FastifyReply, payload: unknown, mine: { credentialId: string; key: string }): Promise<unknown> {
    try {
      if (reply.statusCode >= 500 || typeof payload !== 'string') {
        await idempotency.release(mine.credentialId, mine.key);
      } else {
        const headers: Record<string, string> = {};
        for (const name of REPLAYED_HEADERS) {
          const value = reply.getHeader(name);
          if (value !== undefined) headers[name] = String(value);
        }
        await idempotency.complete(mine.credentialId, mine.key, { status: reply.statusCode, headers, body: payload });
      }
    } catch (error) {
      // The response itself is fine; the key stays in flight until its lock expires.
      request.log.error({ err: error }, 'could not store the response of an idempotent request');
    }
    return payload;
  }
}
