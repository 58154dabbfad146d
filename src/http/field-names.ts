import { ValidationFailed, type FieldErrors } from '../core/errors.ts';

/**
 * A surface's own names for core's fields (core name -> surface name), so that core's
 * validation errors name what the client sent. A path's numbered segments, dotted or in brackets,
 * match `*` in a name (`volumes.*.size_bytes` -> `volumes.*.size` renames `volumes.2.size_bytes`
 * to `volumes.2.size`; `variables[*].value` matches `variables[3].value`).
 * A field not named is the same on both sides.
 */
export type FieldNames = Readonly<Record<string, string>>;

const NUMBERED_SEGMENT = /(?<=^|\.)\d+(?=\.|$)|(?<=\[)\d+(?=\])/g;

/** `path`, a core field path, as the surface names it. */
export function surfaceFieldName(names: FieldNames, path: string): string {
  if (Object.hasOwn(names, path)) return names[path]!;
  const numbers = path.match(NUMBERED_SEGMENT);
  const pattern = path.replace(NUMBERED_SEGMENT, '*');
  if (!numbers || !Object.hasOwn(names, pattern)) return path;
  let next = 0;
  return names[pattern]!.replace(/\*/g, () => numbers[next++] ?? '*');
}

/** Core's field errors under the surface's names; errors that meet under one name are kept together. */
export function surfaceFieldErrors(error: ValidationFailed, names: FieldNames): FieldErrors {
  const fields: FieldErrors = Object.create(null);
  for (const [path, messages] of Object.entries(error.fields)) (fields[surfaceFieldName(names, path)] ??= []).push(...messages);
  return fields;
}

/** Runs a core call whose validation errors name core's fields, and names them as the surface does. */
export async function withFieldNames<T>(names: FieldNames, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ValidationFailed)) throw error;
    throw new ValidationFailed(surfaceFieldErrors(error, names), error.nonField);
  }
}
