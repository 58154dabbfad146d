import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { ValidationFailed, type FieldErrors } from '../../core/errors.ts';
import { fieldPath } from '../../http/validation.ts';

/**
 * Scaleway validates strictly: an unknown key is an error ("extra keys not allowed"), types are
 * not coerced in bodies, and messages read as its API's do. Query strings and params arrive as
 * text and are coerced.
 */
function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: false, allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);

export const scalewayValidatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }): ValidateFunction => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);

const TYPES: Record<string, string> = { string: 'str', integer: 'int', number: 'float', boolean: 'bool', object: 'dict', array: 'list', null: 'None' };

function messageFor(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'required key not provided';
    case 'additionalProperties':
      return 'extra keys not allowed';
    case 'type':
      return `expected ${String(p.type).split(',').map((t) => TYPES[t] ?? t).join(' or ')}`;
    case 'minLength':
      return `length of value must be at least ${p.limit}`;
    case 'maxLength':
      return `length of value must be at most ${p.limit}`;
    case 'minimum':
      return `value must be at least ${p.limit}`;
    case 'maximum':
      return `value must be at most ${p.limit}`;
    case 'maxItems':
      return `length of value must be at most ${p.limit}`;
    case 'maxProperties':
      return `length of value must be at most ${p.limit}`;
    case 'enum':
      return `not a valid value (one of ${(p.allowedValues as unknown[]).join(', ')})`;
    case 'format':
      return p.format === 'uuid' ? 'expected a UUID' : `expected a valid ${p.format}`;
    case 'pattern':
    case 'propertyNames':
      return 'not a valid value';
    default:
      return error.message ?? 'not a valid value';
  }
}

/** Ajv's errors as field errors keyed by the JSON path (`volumes.1.size`); errors of the whole body as non-field. */
export function toScalewayValidation(errors: ErrorObject[]): ValidationFailed {
  const fields: FieldErrors = Object.create(null);
  const nonField: string[] = [];
  for (const error of errors) {
    // A union's branches each report; the `anyOf` summary alone says enough.
    if (error.schemaPath.includes('/anyOf/')) continue;
    const segments = fieldPath(error);
    const message = error.keyword === 'anyOf' ? 'not a valid value' : messageFor(error);
    if (!segments.length) {
      if (!nonField.includes(message)) nonField.push(message);
      continue;
    }
    const list = (fields[segments.join('.')] ??= []);
    if (!list.includes(message)) list.push(message);
  }
  return new ValidationFailed(fields, nonField);
}
