import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  ComputeUnavailable,
  Conflict,
  DomainError,
  InvalidState,
  NotFound,
  PaymentRequired,
  PermissionDenied,
  PreconditionFailed,
  QuotaExceeded,
  RateLimited,
  Unauthenticated,
  UnsupportedVersion,
  ValidationFailed,
} from '../core/errors.ts';
import { toValidationFailed } from './validation.ts';

/** Errors raised by the HTTP machinery itself before a handler runs. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
  }
}

export const WWW_AUTHENTICATE = 'Token realm="api", Bearer realm="api"';

const STATUS_BY_ERROR = new Map<Function, number>([
  [NotFound, 404],
  [ValidationFailed, 400],
  [Conflict, 409],
  [PermissionDenied, 403],
  [Unauthenticated, 401],
  [QuotaExceeded, 403],
  [PaymentRequired, 402],
  [InvalidState, 409],
  [RateLimited, 429],
  [UnsupportedVersion, 422],
  [PreconditionFailed, 412],
  [ComputeUnavailable, 503],
]);

const FASTIFY_CODES: Record<string, { code: string; detail?: (error: FastifyError, request: FastifyRequest) => string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    detail: (_e, request) => `Unsupported media type "${request.headers['content-type'] ?? ''}" in request. Send application/json.`,
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'request_too_large', detail: (_e, request) => `Request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes.` },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'parse_error' },
};

/**
 * The native API's error shapes (Alpacon/DRF): `{"field": [...]}` and `{"non_field_errors": [...]}`
 * for validation, `{"detail", "code"}` for everything else.
 */
export function renderNativeError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const body = nativeErrorBody(error, request, reply);
  // Serialized here, not by the route's response schema: an error body is never filtered.
  reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
}

function nativeErrorBody(error: unknown, request: FastifyRequest, reply: FastifyReply): unknown {
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return renderDomainError(toValidationFailed(fastifyError.validation as never), request, reply);
  if (error instanceof DomainError) return renderDomainError(error, request, reply);
  if (error instanceof HttpError) {
    reply.code(error.statusCode);
    return { detail: error.message, code: error.code, request_id: request.id };
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = FASTIFY_CODES[fastifyError.code];
    reply.code(status);
    return { detail: known?.detail?.(fastifyError, request) ?? fastifyError.message, code: known?.code ?? 'bad_request', request_id: request.id };
  }
  request.log.error({ err: error }, 'request failed');
  reply.code(500);
  return { detail: 'A server error occurred.', code: 'server_error', request_id: request.id };
}

function renderDomainError(error: DomainError, request: FastifyRequest, reply: FastifyReply): unknown {
  reply.code(STATUS_BY_ERROR.get(error.constructor) ?? 400);
  if (error instanceof ValidationFailed) {
    return { ...error.fields, ...(error.nonField.length ? { non_field_errors: error.nonField } : {}) };
  }
  if (error instanceof Unauthenticated) reply.header('www-authenticate', WWW_AUTHENTICATE);
  if (error instanceof RateLimited) reply.header('retry-after', String(error.retryAfterSeconds));
  const body: Record<string, unknown> = { detail: error.message, code: error.code, request_id: request.id };
  if (error instanceof InvalidState) Object.assign(body, { current: error.current, expected: error.expected });
  if (error instanceof QuotaExceeded) Object.assign(body, { resource: error.resource, limit: error.limit });
  if (error instanceof UnsupportedVersion) body.supported_versions = error.supported;
  return body;
}
