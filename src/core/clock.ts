import { randomUUID } from 'node:crypto';

/** Current time as stored and shown everywhere: ISO 8601, milliseconds, UTC (`Z`). */
export function nowIso(): string {
  return new Date().toISOString();
}

/** The time `ms` milliseconds from now, in the same form as `nowIso`. */
export function isoAfter(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

export function newId(): string {
  return randomUUID();
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
