import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimited } from '../../core/errors.ts';
import { OauthError } from '../../core/oauth/oauth-errors.ts';

/**
 * RFC 6749 section 5.2 error bodies, `{"error", "error_description"}`, for the OAuth endpoints.
 * `invalid_client` is a 401 with a challenge; malformed requests of any kind are
 * `invalid_request`; anything unexpected is `server_error` and is logged.
 */
export function renderOauthError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = oauthErrorBody(error, request);
  if (error instanceof RateLimited) reply.header('retry-after', String(error.retryAfterSeconds));
  if (body.error === 'invalid_client') reply.header('www-authenticate', 'Basic realm="oauth", charset="UTF-8"');
  reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(JSON.stringify(body));
}

function oauthErrorBody(error: unknown, request: FastifyRequest): { status: number; body: { error: string; error_description: string } } {
  if (error instanceof OauthError) return { status: error.code === 'invalid_client' ? 401 : 400, body: { error: error.code, error_description: error.message } };
  // RFC 6749 has no code for throttling; RFC 8628's slow_down says what to do.
  if (error instanceof RateLimited) return { status: 429, body: { error: 'slow_down', error_description: error.message } };
  const status = (error as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { error: 'invalid_request', error_description: (error as Error).message } };
  }
  request.log.error({ err: error }, 'OAuth request failed');
  return { status: 500, body: { error: 'server_error', error_description: 'A server error occurred.' } };
}
