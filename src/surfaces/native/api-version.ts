import type { FastifyRequest } from 'fastify';
import { UnsupportedVersion } from '../../core/errors.ts';

export const SUPPORTED_API_VERSIONS = [1];
export const CURRENT_API_VERSION = 1;

declare module 'fastify' {
  interface FastifyRequest {
    apiVersion: number;
  }
}

/** `Accept: application/json; api_version=N` chooses the API version; an unknown one is a 422. */
export function negotiateApiVersion(request: FastifyRequest): void {
  const accept = request.headers.accept;
  request.apiVersion = CURRENT_API_VERSION;
  if (!accept || !accept.includes('api_version')) return;
  const match = /(?:^|;)\s*api_version\s*=\s*"?([^;,"\s]*)"?/i.exec(accept);
  if (!match) return;
  const version = Number(match[1]);
  if (!SUPPORTED_API_VERSIONS.includes(version)) throw new UnsupportedVersion(match[1]!.slice(0, 20), SUPPORTED_API_VERSIONS);
  request.apiVersion = version;
}
