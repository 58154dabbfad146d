import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnsupportedVersion } from '../../core/errors.ts';

/**
 * ComputeStacks' API versions, as its controller declares them (VersionCake): the current one,
 * older ones still answered but deprecated, and the rest refused. A request names one with
 * `Accept: application/json; api_version=N`; without it, it gets the current one.
 */
export const CURRENT_API_VERSION = 80;
export const DEPRECATED_API_VERSIONS = [51, 52, 53, 54, 60, 61, 62, 65, 70, 71];
export const AVAILABLE_API_VERSIONS = [...DEPRECATED_API_VERSIONS, CURRENT_API_VERSION];

declare module 'fastify' {
  interface FastifyRequest {
    /** The ComputeStacks API version this request asked for (or the current one). */
    computestacksVersion: number;
  }
}

/** The version an `Accept` header names, as written: `application/json; api_version=60` (a trailing `;` is common). */
export function requestedVersion(accept: string | undefined): string | undefined {
  return accept ? /(?:^|[;,])\s*api_version\s*=\s*"?([^;,"\s]*)"?/i.exec(accept)?.[1] : undefined;
}

/**
 * Sets the request's version; an unknown one is a 422 ("You requested an unsupported version (N)")
 * with `API-Version-Supported: false`, a deprecated one is answered with `API-Deprecated: true`.
 */
export function negotiateVersion(request: FastifyRequest, reply: FastifyReply): void {
  const requested = requestedVersion(request.headers.accept);
  request.computestacksVersion = CURRENT_API_VERSION;
  if (requested === undefined) return;
  const version = /^\d{1,4}$/.test(requested) ? Number(requested) : NaN;
  if (!AVAILABLE_API_VERSIONS.includes(version)) {
    reply.header('api-version-supported', 'false');
    throw new UnsupportedVersion(requested.slice(0, 20), AVAILABLE_API_VERSIONS);
  }
  request.computestacksVersion = version;
  if (DEPRECATED_API_VERSIONS.includes(version)) reply.header('api-deprecated', 'true');
}
