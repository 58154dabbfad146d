/**
 * Typed domain errors. Core services throw these; each surface renders them in its own
 * platform's shape (the native API: DRF-style bodies, see src/surfaces/native/errors.ts).
 */
export abstract class DomainError extends Error {
  /** Machine-readable code, stable across releases (`{"code": ...}` on the native API). */
  abstract readonly code: string;
}

export class NotFound extends DomainError {
  readonly code = 'not_found';
  constructor(readonly resource: string, message = 'Not found.') {
    super(message);
  }
}

export type FieldErrors = Record<string, string[]>;

export class ValidationFailed extends DomainError {
  readonly code = 'invalid';
  constructor(readonly fields: FieldErrors = {}, readonly nonField: string[] = []) {
    super([...Object.entries(fields).map(([f, m]) => `${f}: ${m.join(' ')}`), ...nonField].join('; ') || 'Invalid input.');
  }
  static field(field: string, message: string): ValidationFailed {
    return new ValidationFailed({ [field]: [message] });
  }
}

export class Conflict extends DomainError {
  constructor(message: string, readonly code = 'conflict') {
    super(message);
  }
}

export class PermissionDenied extends DomainError {
  constructor(message = 'You do not have permission to perform this action.', readonly code = 'permission_denied') {
    super(message);
  }
}

/** Content larger than a documented limit. */
export class TooLarge extends DomainError {
  constructor(message: string, readonly code = 'request_too_large') {
    super(message);
  }
}

export class Unauthenticated extends DomainError {
  constructor(message = 'Authentication credentials were not provided.', readonly code = 'not_authenticated') {
    super(message);
  }
}

export class QuotaExceeded extends DomainError {
  readonly code = 'quota_exceeded';
  constructor(readonly resource: string, readonly limit: number, message = `Quota exceeded for ${resource}: the limit is ${limit}.`) {
    super(message);
  }
}

export class PaymentRequired extends DomainError {
  readonly code = 'payment_required';
}

export class InvalidState extends DomainError {
  readonly code = 'invalid_state';
  /** `resource`: what is in the wrong state (`server`, `volume`), when it is not the resource asked about. */
  constructor(readonly current: string, readonly expected: string[], message?: string, readonly resource?: string) {
    super(message ?? `The resource is ${current}; this needs it to be ${expected.join(' or ')}.`);
  }
}

export class RateLimited extends DomainError {
  readonly code = 'throttled';
  constructor(readonly retryAfterSeconds: number, message = `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`) {
    super(message);
  }
}

export class UnsupportedVersion extends DomainError {
  readonly code = 'unsupported_version';
  constructor(readonly requested: string, readonly supported: number[]) {
    super(`API version ${requested} is not supported; supported versions: ${supported.join(', ')}.`);
  }
}

export class PreconditionFailed extends DomainError {
  readonly code = 'precondition_failed';
  constructor(message = 'The resource has changed since it was read (If-Match does not match its current ETag).') {
    super(message);
  }
}

/** Servers cannot run on this machine (not root, runc missing...); the message says how to fix it. */
export class ComputeUnavailable extends DomainError {
  readonly code = 'compute_unavailable';
}
