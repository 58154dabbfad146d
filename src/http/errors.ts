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
  TooLarge,
  Unauthenticated,
  UnsupportedVersion,
  ValidationFailed,
} from '../core/errors.ts';
import { toValidationFailed } from './validation.ts';

/** Errors raised by the HTTP machinery itself (a bad Host, a 405, broken JSON), before or beside a handler. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The HTTP status of each domain error; a surface whose platform says otherwise changes its own copy. */
export const STATUS_BY_DOMAIN_ERROR = new Map<Function, number>([
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
  [TooLarge, 413],
  [ComputeUnavailable, 503],
]);

const FASTIFY_CODES: Record<string, { code: string; message?: (request: FastifyRequest) => string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    message: (request) => `Unsupported media type "${request.headers['content-type'] ?? ''}" in request. Send application/json.`,
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'request_too_large', message: (request) => `Request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes.` },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'parse_error' },
};

/**
 * What an error means over HTTP, before a surface gives it its body: a domain error (a schema
 * validation failure arrives as `ValidationFailed`), a refusal by the HTTP machinery or the
 * framework (`code` is stable: `parse_error`, `method_not_allowed`, `request_too_large`,
 * `unsupported_media_type`...), or an unexpected failure, which is logged here.
 */
export type ErrorMeaning =
  | { kind: 'domain'; status: number; error: DomainError }
  | { kind: 'http'; status: number; code: string; message: string }
  | { kind: 'failure'; status: 500 };

/**
 * Reads any error thrown while serving a request, sets the reply's status and the headers
 * HTTP itself defines for it (`Retry-After` on a 429), and says what it means. Every surface's
 * error renderer starts here and only writes its body.
 */
export function interpretError(error: unknown, request: FastifyRequest, reply: FastifyReply, statuses = STATUS_BY_DOMAIN_ERROR): ErrorMeaning {
  const meaning = meaningOf(error, request, statuses);
  reply.code(meaning.status);
  if (meaning.kind === 'domain' && meaning.error instanceof RateLimited) reply.header('retry-after', String(meaning.error.retryAfterSeconds));
  return meaning;
}

function meaningOf(error: unknown, request: FastifyRequest, statuses: Map<Function, number>): ErrorMeaning {
  const fastifyError = error as FastifyError;
  const domain = fastifyError.validation ? toValidationFailed(fastifyError.validation as never) : error;
  if (domain instanceof DomainError) return { kind: 'domain', status: statuses.get(domain.constructor) ?? 400, error: domain };
  if (error instanceof HttpError) return { kind: 'http', status: error.statusCode, code: error.code, message: error.message };
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = FASTIFY_CODES[fastifyError.code];
    return { kind: 'http', status, code: known?.code ?? 'bad_request', message: known?.message?.(request) ?? fastifyError.message };
  }
  request.log.error({ err: error }, 'request failed');
  return { kind: 'failure', status: 500 };
}

/** Sends an error body as it is: serialized here, not by the route's response schema, so it is never filtered. */
export function sendErrorBody(reply: FastifyReply, body: unknown, type = 'application/json; charset=utf-8'): void {
  reply.type(type).send(JSON.stringify(body));
}

/**
 * Errors that belong to no surface (the listener's own routes, a malformed URL no surface
 * claims): `{"detail", "code"}`.
 */
export function renderPlainError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const meaning = interpretError(error, request, reply);
  if (meaning.kind === 'failure') return sendErrorBody(reply, { detail: 'A server error occurred.', code: 'server_error' });
  sendErrorBody(reply, meaning.kind === 'http' ? { detail: meaning.message, code: meaning.code } : { detail: meaning.error.message, code: meaning.error.code });
}
