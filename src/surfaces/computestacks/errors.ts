import type { FastifyReply, FastifyRequest } from 'fastify';
import { Conflict, InvalidState, NotFound, PaymentRequired, PreconditionFailed, QuotaExceeded, Unauthenticated, UnsupportedVersion, ValidationFailed, type DomainError } from '../../core/errors.ts';
import { interpretError, sendErrorBody, STATUS_BY_DOMAIN_ERROR } from '../../http/errors.ts';

/** ComputeStacks' words for what no route answers: a wrong path and a wrong verb alike (its catch-all route). */
export const UNKNOWN_ROUTE = 'Unknown API Call. Please check the documentation.';
export const NOT_AUTHORIZED = 'Not Authorized';

/**
 * ComputeStacks' statuses: whatever a request cannot do as asked is a 422 (`api_obj_error`),
 * a limit of the account included; a missing or wrong credential a 401 (a bad OAuth token a
 * 403, as Doorkeeper answers it).
 */
const COMPUTESTACKS_STATUSES = new Map<Function, number>([
  ...STATUS_BY_DOMAIN_ERROR,
  [ValidationFailed, 422],
  [Conflict, 422],
  [InvalidState, 422],
  [QuotaExceeded, 422],
  [PaymentRequired, 422],
  [PreconditionFailed, 422],
]);

/** Rails' full messages: one string per problem, each naming its field. */
export function messagesOf(error: ValidationFailed): string[] {
  return [...Object.entries(error.fields).flatMap(([field, messages]) => messages.map((m) => `${field}: ${m}`)), ...error.nonField];
}

function carriesBearer(request: FastifyRequest): boolean {
  return /^bearer\s/i.test(request.headers.authorization?.trim() ?? '');
}

function domainMessages(error: DomainError, request: FastifyRequest, reply: FastifyReply): string[] {
  if (error instanceof ValidationFailed) return messagesOf(error);
  if (error instanceof NotFound && error.resource === 'route') return [UNKNOWN_ROUTE];
  if (error instanceof UnsupportedVersion) return [`You requested an unsupported version (${error.requested})`];
  if (error instanceof Unauthenticated) {
    // An OAuth token that is not (or no longer) good is a 403 with its reason; Basic and no credential a 401.
    if (carriesBearer(request)) {
      reply.code(403);
      return [error.message];
    }
    return [NOT_AUTHORIZED];
  }
  return [error.message];
}

/** Every error of this surface, the framework's own included, as ComputeStacks writes them: `{"errors": ["..."]}`. */
export function renderComputeStacksError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const meaning = interpretError(error, request, reply, COMPUTESTACKS_STATUSES);
  if (meaning.kind === 'domain') return sendErrorBody(reply, { errors: domainMessages(meaning.error, request, reply) });
  if (meaning.kind === 'failure') return sendErrorBody(reply, { errors: ['Internal Server Error'] });
  if (meaning.code === 'method_not_allowed') {
    // Rails routes a verb a path does not take to its catch-all: an unknown call, not a 405.
    reply.code(404).removeHeader('allow');
    return sendErrorBody(reply, { errors: [UNKNOWN_ROUTE] });
  }
  sendErrorBody(reply, { errors: [meaning.message] });
}

/** The object under a request body's root key (`{"user": {...}}`); a 422 naming the key without it. */
export function rooted(body: unknown, key: string): Record<string, unknown> {
  const value = (body as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationFailed({}, [`param is missing or the value is empty: ${key}`]);
  return value as Record<string, unknown>;
}
