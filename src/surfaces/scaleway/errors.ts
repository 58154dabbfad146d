import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  ComputeUnavailable,
  Conflict,
  DomainError,
  InvalidState,
  NotFound,
  PaymentRequired,
  PermissionDenied,
  QuotaExceeded,
  RateLimited,
  Unauthenticated,
  ValidationFailed,
} from '../../core/errors.ts';
import { HttpError } from '../../http/errors.ts';
import { scalewayState } from './render.ts';
import { toScalewayFields, toScalewayValidation } from './validation.ts';

/**
 * Scaleway's error body, `{"type", "message", "fields"?}`, with its status per type:
 * invalid_request_error 400, invalid_auth 401, authorization_required 403, unknown_resource
 * 404, conflict 409, api_error 5xx. A request that was valid but could not be granted (a quota)
 * is the seed's 402 "Request Failed".
 */
export type ScalewayErrorType = 'invalid_request_error' | 'invalid_auth' | 'authorization_required' | 'unknown_resource' | 'conflict' | 'api_error';

interface ScalewayError {
  status: number;
  type: ScalewayErrorType;
  message: string;
  fields?: Record<string, string[]>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scaleway's names for core's validation-error fields on this route (`snapshot` -> `root_volume`). */
    scalewayFields?: Record<string, string>;
  }
}

const SERVER_STATES = new Set(['stopped', 'starting', 'running', 'stopping', 'error']);

/** `server should be stopped`: which resource refused is told by the states it expected. */
function wrongStateMessage(error: InvalidState): string {
  const resource = error.expected.every((state) => SERVER_STATES.has(state)) ? 'server' : 'volume';
  return `${resource} should be ${[...new Set(error.expected.map(scalewayState))].join(' or ')}`;
}

/** Scaleway names a missing resource by the id it was asked for: `"<id>" not found`. */
function notFoundMessage(error: NotFound, request: FastifyRequest): string {
  const params = (request.params ?? {}) as Record<string, string>;
  if (error.resource === 'organization') return `"${request.scalewayOrganization ?? ''}" not found`;
  if (error.resource === 'user_data' && params.key) return `"${params.key}" not found`;
  if (error.resource === 'route' || !params.id) return error.message;
  return `"${params.id}" not found`;
}

function fromDomain(error: DomainError, request: FastifyRequest): ScalewayError {
  if (error instanceof ValidationFailed) {
    const fields = toScalewayFields(error, request.routeOptions.config.scalewayFields);
    const message = error.nonField.join(' ') || 'Validation Error';
    return { status: 400, type: 'invalid_request_error', message, ...(Object.keys(fields).length ? { fields } : {}) };
  }
  if (error instanceof InvalidState) return { status: 400, type: 'invalid_request_error', message: wrongStateMessage(error) };
  if (error instanceof NotFound) return { status: 404, type: 'unknown_resource', message: notFoundMessage(error, request) };
  if (error instanceof Unauthenticated) return { status: 401, type: 'invalid_auth', message: error.message };
  if (error instanceof PermissionDenied) return { status: 403, type: 'authorization_required', message: error.message };
  if (error instanceof QuotaExceeded || error instanceof PaymentRequired) return { status: 402, type: 'invalid_request_error', message: error.message };
  if (error instanceof Conflict) return { status: 409, type: 'conflict', message: error.message };
  if (error instanceof RateLimited) return { status: 429, type: 'invalid_request_error', message: error.message };
  if (error instanceof ComputeUnavailable) return { status: 503, type: 'api_error', message: error.message };
  return { status: 400, type: 'invalid_request_error', message: error.message };
}

/** The framework's own errors (broken JSON, media type, body size) and the HTTP layer's. */
function fromHttp(error: FastifyError | HttpError, request: FastifyRequest): ScalewayError | null {
  const status = error.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (status === 401) return { status, type: 'invalid_auth', message: error.message };
  if (status === 404) return { status, type: 'unknown_resource', message: error.message };
  if (status === 413) return { status, type: 'invalid_request_error', message: `Request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes.` };
  if (status === 415) return { status, type: 'invalid_request_error', message: `Unsupported media type "${request.headers['content-type'] ?? ''}". Send application/json.` };
  return { status, type: 'invalid_request_error', message: error.message };
}

export function renderScalewayError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const validation = (error as FastifyError).validation;
  const found =
    (validation && fromDomain(toScalewayValidation(validation), request)) ||
    (error instanceof DomainError ? fromDomain(error, request) : null) ||
    fromHttp(error as FastifyError, request);
  if (!found) request.log.error({ err: error }, 'request failed');
  const { status, ...body } = found ?? { status: 500, type: 'api_error', message: 'An internal error occurred.' };
  if (error instanceof RateLimited) reply.header('retry-after', String(error.retryAfterSeconds));
  reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}
