import { randomUUID } from 'node:crypto';

/** Current time as stored and shown everywhere: ISO 8601, milliseconds, UTC (`Z`). */
export function nowIso(): string {
  return new Date().toISOString();
}

/** The time `ms` milliseconds from now, in the same form as `nowIso`. */
export function isoAfter(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/**
 * A timestamp given as input, in the stored form, or null when it is not one a date can hold
 * (RFC 3339 allows second 60 and JavaScript dates do not; nor do they hold year 275760 and on).
 */
export function parseTimestamp(value: string): string | null {
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export function newId(): string {
  return randomUUID();
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
