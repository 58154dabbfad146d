import type { FastifyRequest } from 'fastify';
import { HttpError } from '../../http/errors.ts';

/** The protocol the client used (a trusted proxy's X-Forwarded-Proto, or this connection's) is HTTPS, or the client is this machine. */
export function isSecure(request: FastifyRequest): boolean {
  return request.protocol === 'https' || isLoopback(request.socket.remoteAddress);
}

/**
 * "It's TLS, or nothing": a credential sent in clear, from elsewhere than this machine, is refused
 * (and should be replaced); so is a URL's capability (`?token=`, a source's or a logs URL's).
 */
export function assertSecureTransport(request: FastifyRequest): void {
  if (isSecure(request)) return;
  if (request.headers.authorization || (request.query as Record<string, unknown> | undefined)?.token !== undefined) throw httpsRequired();
}

export const httpsRequired = () => new HttpError(403, 'https_required', "The API is only available through HTTPS: it's TLS, or nothing.");

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address));
}
