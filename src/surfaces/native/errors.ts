import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidState, QuotaExceeded, Unauthenticated, UnsupportedVersion, ValidationFailed } from '../../core/errors.ts';
import { interpretError, sendErrorBody } from '../../http/errors.ts';
import { surfaceFieldErrors } from '../../http/field-names.ts';
import { NATIVE_FIELD_NAMES } from './field-names.ts';

export const WWW_AUTHENTICATE = 'Token realm="api", Bearer realm="api"';

/**
 * The native API's error shapes (Alpacon/DRF): `{"field": [...]}` and `{"non_field_errors": [...]}`
 * for validation, `{"detail", "code"}` for everything else.
 */
export function renderNativeError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  sendErrorBody(reply, nativeErrorBody(error, request, reply));
}

function nativeErrorBody(error: unknown, request: FastifyRequest, reply: FastifyReply): unknown {
  const meaning = interpretError(error, request, reply);
  if (meaning.kind === 'failure') return { detail: 'A server error occurred.', code: 'server_error', request_id: request.id };
  if (meaning.kind === 'http') return { detail: meaning.message, code: meaning.code, request_id: request.id };
  const domain = meaning.error;
  if (domain instanceof ValidationFailed) {
    return { ...surfaceFieldErrors(domain, NATIVE_FIELD_NAMES), ...(domain.nonField.length ? { non_field_errors: domain.nonField } : {}) };
  }
  if (domain instanceof Unauthenticated) reply.header('www-authenticate', WWW_AUTHENTICATE);
  const body: Record<string, unknown> = { detail: domain.message, code: domain.code, request_id: request.id };
  if (domain instanceof InvalidState) Object.assign(body, { current: domain.current, expected: domain.expected });
  if (domain instanceof QuotaExceeded) Object.assign(body, { resource: domain.resource, limit: domain.limit });
  if (domain instanceof UnsupportedVersion) body.supported_versions = domain.supported;
  return body;
}
