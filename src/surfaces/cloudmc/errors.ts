import type { FastifyReply, FastifyRequest } from 'fastify';
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
  ValidationFailed,
} from '../../core/errors.ts';
import { HttpError, interpretError, sendErrorBody } from '../../http/errors.ts';
import { cloudmcField } from './fields.ts';

/**
 * CloudMC's error codes: stable numbers, documented in the README. Every error answer is
 * `{"errors": [{"code", "errorCode", "message", "context"}]}`; `errorCode` is the same code as
 * text, which go-cloudca reads.
 */
export const ERROR_CODES = {
  UNEXPECTED: { code: 1000, status: 500, meaning: 'An unexpected error occurred.' },
  BAD_REQUEST: { code: 1001, status: 400, meaning: 'The request could not be read (broken JSON, a bad header).' },
  INVALID_FIELD: { code: 1002, status: 400, meaning: 'A field is missing or invalid; `context.field` names it.' },
  QUOTA_EXCEEDED: { code: 1003, status: 400, meaning: 'A quota limit would be exceeded; `context` has `resource` and `limit`.' },
  UNSUPPORTED_OPERATION: { code: 1004, status: 400, meaning: 'The operation does not exist for this entity, or Nimbus does not offer it.' },
  CONFLICT: { code: 1005, status: 400, meaning: 'The request conflicts with what exists (a name taken, resources still inside).' },
  PAYMENT_REQUIRED: { code: 1006, status: 400, meaning: 'The organization must settle its account first.' },
  STALE: { code: 1007, status: 400, meaning: 'The entity changed while the request ran; read it again and retry.' },
  UNAUTHENTICATED: { code: 1010, status: 401, meaning: 'No valid API key in `MC-Api-Key` (missing, wrong, revoked or regenerated).' },
  FORBIDDEN: { code: 1011, status: 403, meaning: 'Your role (or your key) does not allow this.' },
  NOT_FOUND: { code: 1020, status: 404, meaning: 'No such entity here; `context` has its `type` and, when given, its `id`.' },
  NO_ROUTE: { code: 1021, status: 404, meaning: 'No such endpoint.' },
  METHOD_NOT_ALLOWED: { code: 1030, status: 405, meaning: 'The endpoint does not take this HTTP verb; `Allow` lists those it takes.' },
  TOO_LARGE: { code: 1031, status: 413, meaning: 'The request body is over the size limit.' },
  UNSUPPORTED_MEDIA_TYPE: { code: 1032, status: 415, meaning: 'Request bodies must be JSON.' },
  RATE_LIMITED: { code: 1040, status: 429, meaning: 'Too many requests; `Retry-After` says when to come back.' },
  SERVICE_UNAVAILABLE: { code: 1050, status: 503, meaning: 'The service cannot do this on this installation now (compute not running here).' },
  WRONG_STATE: { code: 2012, status: 400, meaning: 'The entity is not in a state this operation accepts; `context` has `id`, `currentState`, `expectedStates` and `type`.' },
} as const;

type ErrorKind = keyof typeof ERROR_CODES;

interface CloudmcError {
  code: number;
  errorCode: string;
  message: string;
  context: Record<string, unknown>;
}

/** An entity a route works on: its CloudMC type, its id, and its states in CloudMC's words. */
export interface Entity {
  type: string;
  id: string;
  stateName: (state: string) => string;
}

/**
 * A domain error plus what only the route knows: the entities it concerns, by core's resource
 * type (an `InvalidState` says which was in the wrong state, in core's words).
 */
export class EntityError extends Error {
  readonly entity: Entity;
  constructor(readonly cause: DomainError, entities: Record<string, Entity>) {
    super(cause.message);
    const named = cause instanceof InvalidState && cause.resource ? entities[cause.resource] : undefined;
    this.entity = named ?? Object.values(entities)[0]!;
  }
}

/** An operation this surface refuses by itself (an `?operation=` that does not exist). */
export class UnsupportedOperation extends HttpError {
  constructor(message: string, readonly context: Record<string, unknown> = {}) {
    super(400, 'unsupported_operation', message);
  }
}

const entry = (kind: ErrorKind, message: string, context: Record<string, unknown> = {}): CloudmcError => ({
  code: ERROR_CODES[kind].code,
  errorCode: String(ERROR_CODES[kind].code),
  message,
  context,
});

const HTTP_KINDS: Record<number, ErrorKind> = { 400: 'BAD_REQUEST', 404: 'NO_ROUTE', 405: 'METHOD_NOT_ALLOWED', 413: 'TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

/** The kind of each domain error; any other is a BAD_REQUEST. */
const KIND_BY_DOMAIN_ERROR = new Map<Function, ErrorKind>([
  [ValidationFailed, 'INVALID_FIELD'],
  [InvalidState, 'WRONG_STATE'],
  [QuotaExceeded, 'QUOTA_EXCEEDED'],
  [NotFound, 'NOT_FOUND'],
  [Unauthenticated, 'UNAUTHENTICATED'],
  [PermissionDenied, 'FORBIDDEN'],
  [Conflict, 'CONFLICT'],
  [PreconditionFailed, 'STALE'],
  [PaymentRequired, 'PAYMENT_REQUIRED'],
  [RateLimited, 'RATE_LIMITED'],
  [ComputeUnavailable, 'SERVICE_UNAVAILABLE'],
]);
/** CloudMC answers most refusals with a 400 and says what went wrong in the code. */
const CLOUDMC_STATUSES = new Map<Function, number>([...KIND_BY_DOMAIN_ERROR].map(([type, kind]) => [type, ERROR_CODES[kind].status]));

function domainErrors(error: DomainError, entity?: EntityError): CloudmcError[] {
  if (error instanceof ValidationFailed) {
    const fields = Object.entries(error.fields).flatMap(([field, messages]) => messages.map((m) => entry('INVALID_FIELD', `${cloudmcField(field)}: ${m}`, { field: cloudmcField(field) })));
    return [...fields, ...error.nonField.map((m) => entry('INVALID_FIELD', m))];
  }
  if (error instanceof InvalidState) {
    const name = entity?.entity.stateName ?? ((s: string) => s);
    const context = { ...(entity ? { id: entity.entity.id } : {}), currentState: name(error.current), expectedStates: error.expected.map(name), ...(entity ? { type: entity.entity.type } : {}) };
    return [entry('WRONG_STATE', error.message, context)];
  }
  if (error instanceof QuotaExceeded) return [entry('QUOTA_EXCEEDED', error.message, { resource: error.resource, limit: error.limit })];
  // The router's own 404 (no such endpoint) names the resource `route`.
  if (error instanceof NotFound && error.resource === 'route') return [entry('NO_ROUTE', 'No such endpoint.')];
  if (error instanceof NotFound) return [entry('NOT_FOUND', error.message, { type: error.resource, ...(entity ? { id: entity.entity.id } : {}) })];
  return [entry(KIND_BY_DOMAIN_ERROR.get(error.constructor) ?? 'BAD_REQUEST', error.message)];
}

function errorsOf(error: unknown, request: FastifyRequest, reply: FastifyReply): CloudmcError[] {
  const entity = error instanceof EntityError ? error : undefined;
  const meaning = interpretError(entity ? entity.cause : error, request, reply, CLOUDMC_STATUSES);
  if (meaning.kind === 'domain') return domainErrors(meaning.error, entity);
  if (meaning.kind === 'failure') return [entry('UNEXPECTED', 'An unexpected error occurred.')];
  if (error instanceof UnsupportedOperation) return [entry('UNSUPPORTED_OPERATION', error.message, error.context)];
  return [entry(HTTP_KINDS[meaning.status] ?? 'BAD_REQUEST', meaning.message)];
}

/** Every error of this surface, the framework's own included, in CloudMC's shape. */
export function renderCloudmcError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  sendErrorBody(reply, { errors: errorsOf(error, request, reply) });
}

/**
 * Runs a core call on entities (keyed by core's resource type, the one asked about first), so
 * that its errors carry the entity concerned and CloudMC's state names.
 */
export async function onEntities<T>(entities: Record<string, Entity>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) throw new EntityError(error, entities);
    throw error;
  }
}
