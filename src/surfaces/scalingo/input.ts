import { ValidationFailed } from '../../core/errors.ts';

/** Reading request fields: a field of the wrong type is a 422 on its name, as Scalingo says it. */

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw ValidationFailed.field(field, 'must be a string');
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw ValidationFailed.field(field, 'must be a boolean');
  return value;
}

/** A query parameter that must be given (a confirmation such as `current_name`). */
export function requiredQuery(query: unknown, field: string): string {
  const value = (query as Record<string, unknown> | undefined)?.[field];
  if (typeof value !== 'string' || value === '') throw ValidationFailed.field(field, 'missing field');
  return value;
}

/** A list of objects under `field`; each must be an object. */
export function objectList(body: Record<string, unknown>, field: string): Record<string, unknown>[] {
  const value = body[field];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'object' || item === null || Array.isArray(item))) throw ValidationFailed.field(field, 'must be a list of objects');
  return value as Record<string, unknown>[];
}
