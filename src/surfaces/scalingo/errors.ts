import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFound, PaymentRequired, QuotaExceeded, ValidationFailed, type DomainError } from '../../core/errors.ts';
import { interpretError, sendErrorBody, STATUS_BY_DOMAIN_ERROR } from '../../http/errors.ts';
import { surfaceUrl } from '../../http/surface.ts';

/**
 * Scalingo's statuses: invalid fields are a 422, and a limit of the account (Scalingo's free
 * trial; here the organization's quota) a 402.
 */
const SCALINGO_STATUSES = new Map<Function, number>([...STATUS_BY_DOMAIN_ERROR, [ValidationFailed, 422], [QuotaExceeded, 402], [PaymentRequired, 402]]);

/** Fields of a validation failure, with what applies to no one field under `base` (as Rails says it). */
function fieldErrors(error: ValidationFailed): Record<string, string[]> {
  return { ...error.fields, ...(error.nonField.length ? { base: error.nonField } : {}) };
}

function domainBody(error: DomainError, request: FastifyRequest): Record<string, unknown> {
  if (error instanceof ValidationFailed) return { errors: fieldErrors(error) };
  // The router's own 404 (no such endpoint) names the resource `route`: it is no resource.
  if (error instanceof NotFound) return error.resource === 'route' ? { error: 'not found' } : { resource: error.resource, error: 'not found' };
  // Where the account's owner goes to lift the limit: the account itself, on this surface.
  if (error instanceof QuotaExceeded || error instanceof PaymentRequired) return { error: error.message, url: surfaceUrl(request.server, request, '/v1/users/self') };
  return { error: error.message };
}

/**
 * Every error of this surface, the framework's own included, in Scalingo's shapes: `{error}`,
 * `{resource, error: "not found"}`, `{errors: {field: [...]}}` and `{error, url}`.
 */
export function renderScalingoError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const meaning = interpretError(error, request, reply, SCALINGO_STATUSES);
  if (meaning.kind === 'domain') return sendErrorBody(reply, domainBody(meaning.error, request));
  if (meaning.kind === 'failure') return sendErrorBody(reply, { error: "Internal error occured, we're on it!" });
  if (meaning.code === 'parse_error') return sendErrorBody(reply, { error: `There was a problem in the JSON you submitted: ${meaning.message}` });
  sendErrorBody(reply, { error: meaning.message });
}

/** The object under a request body's root key (`{"app": {...}}`); a 422 `{"errors": {"<key>": ["missing field"]}}` without it. */
export function rooted(body: unknown, key: string): Record<string, unknown> {
  const value = (body as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw ValidationFailed.field(key, 'missing field');
  return value as Record<string, unknown>;
}

