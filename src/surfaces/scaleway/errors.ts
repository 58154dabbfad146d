import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidState, NotFound, PaymentRequired, PreconditionFailed, QuotaExceeded, Unauthenticated, ValidationFailed, type DomainError } from '../../core/errors.ts';
import { interpretError, sendErrorBody, STATUS_BY_DOMAIN_ERROR, type ErrorMeaning } from '../../http/errors.ts';
import { scalewayState } from './render.ts';
import { toScalewayValidation } from './validation.ts';
import { surfaceFieldErrors, type FieldNames } from '../../http/field-names.ts';

/**
 * Scaleway's error body, `{"type", "message", "fields"?}`, with its status per type:
 * invalid_request_error 400, invalid_auth 401, authorization_required 403, unknown_resource
 * 404, conflict 409, api_error 5xx. A request that was valid but could not be granted (a quota)
 * is the seed's 402 "Request Failed".
 */
export type ScalewayErrorType = 'invalid_request_error' | 'invalid_auth' | 'authorization_required' | 'unknown_resource' | 'conflict' | 'api_error';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scaleway's names for core's validation-error fields on this route (`snapshot` -> `root_volume`). */
    scalewayFields?: FieldNames;
  }
}

/** Scaleway refuses an action in the wrong state as a bad request, and a request it cannot grant with a 402. */
const SCALEWAY_STATUSES = new Map<Function, number>([
  ...STATUS_BY_DOMAIN_ERROR,
  [InvalidState, 400],
  [QuotaExceeded, 402],
  [PaymentRequired, 402],
  [PreconditionFailed, 409],
]);

const TYPE_BY_STATUS: Record<number, ScalewayErrorType> = { 401: 'invalid_auth', 403: 'authorization_required', 404: 'unknown_resource', 409: 'conflict' };

const typeFor = (status: number): ScalewayErrorType => TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

/**
 * `server should be stopped`, naming what core says refused. Scaleway's servers show `error` as
 * `stopped` and never `destroyed` (its DELETE is final); other resources keep core's states.
 */
function wrongStateMessage(error: InvalidState): string {
  const shown = error.resource === 'server' ? error.expected.filter((state) => state !== 'destroyed').map(scalewayState) : error.expected;
  return `${error.resource ?? 'resource'} should be ${[...new Set(shown.length ? shown : error.expected)].join(' or ')}`;
}

/** Scaleway names a missing resource by the id it was asked for: `"<id>" not found`. */
function notFoundMessage(error: NotFound, request: FastifyRequest): string {
  const params = (request.params ?? {}) as Record<string, string>;
  if (error.resource === 'route') return `The requested URL ${request.url.split('?')[0]} was not found on this server.`;
  if (error.resource === 'organization') return `"${request.scalewayOrganization ?? ''}" not found`;
  if (error.resource === 'user_data' && params.key) return `"${params.key}" not found`;
  return params.id ? `"${params.id}" not found` : error.message;
}

function domainMessage(error: DomainError, request: FastifyRequest): { message: string; fields?: Record<string, string[]> } {
  if (error instanceof ValidationFailed) {
    const fields = surfaceFieldErrors(error, request.routeOptions.config.scalewayFields ?? {});
    return { message: error.nonField.join(' ') || 'Validation Error', ...(Object.keys(fields).length ? { fields } : {}) };
  }
  if (error instanceof InvalidState) return { message: wrongStateMessage(error) };
  if (error instanceof NotFound) return { message: notFoundMessage(error, request) };
  // No token at all: Scaleway names its one carrier.
  if (error instanceof Unauthenticated && error.code === 'not_authenticated') return { message: "The header 'X-Auth-Token' is missing" };
  return { message: error.message };
}

function bodyOf(meaning: ErrorMeaning, request: FastifyRequest) {
  const type = typeFor(meaning.status);
  if (meaning.kind === 'failure') return { type, message: 'An internal error occurred.' };
  if (meaning.kind === 'http') return { type, message: meaning.message };
  return { type, ...domainMessage(meaning.error, request) };
}

/** Every error of this surface, the framework's own included, in Scaleway's shape. */
export function renderScalewayError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  // Body validation failures in Scaleway's words (`extra keys not allowed`), not the shared ones.
  const validation = (error as FastifyError).validation;
  const meaning = interpretError(validation ? toScalewayValidation(validation) : error, request, reply, SCALEWAY_STATUSES);
  sendErrorBody(reply, bodyOf(meaning, request));
}
