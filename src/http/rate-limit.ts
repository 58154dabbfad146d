import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimited } from '../core/errors.ts';
import type { RateLimiter } from '../core/ratelimit/rate-limiter.ts';
import type { IdentitySettings } from '../config.ts';

export type RequestLimits = ReturnType<typeof createRequestLimits>;

type Limits = Pick<IdentitySettings, 'rateLimitPerCredential' | 'rateLimitPerAddress' | 'rateLimitWindowSeconds'>;

/**
 * Request rate limits: per credential once authenticated, per client address otherwise (failed
 * authentications included). Every limited response says where the caller stands with
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; past the limit it is a 429
 * with `Retry-After`. A limit of 0 turns that kind of limit off.
 */
export function createRequestLimits(limiter: RateLimiter, limits: Limits) {
  function apply(reply: FastifyReply, key: string, limit: number): void {
    if (limit === 0) return;
    const decision = limiter.consume(key, limit, limits.rateLimitWindowSeconds);
    reply.header('ratelimit-limit', String(decision.limit));
    reply.header('ratelimit-remaining', String(decision.remaining));
    reply.header('ratelimit-reset', String(decision.resetSeconds));
    if (!decision.allowed) throw new RateLimited(decision.resetSeconds);
  }
  return {
    credential(request: FastifyRequest, reply: FastifyReply): void {
      apply(reply, `credential:${request.actor.principal.credentialId}`, limits.rateLimitPerCredential);
    },
    address(request: FastifyRequest, reply: FastifyReply): void {
      apply(reply, `address:${request.ip}`, limits.rateLimitPerAddress);
    },
  };
}

/**
 * Runs a surface's authentication under the rate limits: a failed attempt counts against the
 * client's address, a request that authenticated against its credential.
 */
export async function authenticateWithinLimits(limits: RequestLimits, request: FastifyRequest, reply: FastifyReply, authenticate: () => Promise<void>): Promise<void> {
  try {
    await authenticate();
  } catch (error) {
    limits.address(request, reply);
    throw error;
  }
  limits.credential(request, reply);
}
