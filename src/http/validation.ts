import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { ValidationFailed, type FieldErrors } from '../core/errors.ts';

/**
 * Bodies are validated strictly (no type coercion, unknown fields dropped, every error at
 * once); query strings, params and headers arrive as text and are coerced to their types.
 */
function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: true, allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);
const compiled = new WeakMap<object, ValidateFunction>();

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  const cached = httpPart === 'body' ? undefined : compiled.get(schema);
  if (cached) return cached;
  const validate = ajv.compile(schema);
  if (httpPart !== 'body') compiled.set(schema, validate);
  return validate;
};

const TYPE_MESSAGES: Record<string, string> = {
  string: 'Not a valid string.',
  integer: 'A valid integer is required.',
  number: 'A valid number is required.',
  boolean: 'Must be a valid boolean.',
  array: 'Expected a list of items.',
  object: 'Expected a dictionary of items.',
  null: 'This field may be null only.',
};

function messageFor(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return 'This field is required.';
    case 'type': {
      const types = String(p.type).split(',').filter((t) => t !== 'null');
      return TYPE_MESSAGES[types[0] ?? 'null'] ?? 'Invalid type.';
    }
    case 'minLength':
      return p.limit === 1 ? 'This field may not be blank.' : `Ensure this field has at least ${p.limit} characters.`;
    case 'maxLength':
      return `Ensure this field has no more than ${p.limit} characters.`;
    case 'minimum':
      return `Ensure this value is greater than or equal to ${p.limit}.`;
    case 'maximum':
      return `Ensure this value is less than or equal to ${p.limit}.`;
    case 'minItems':
      return p.limit === 1 ? 'This list may not be empty.' : `Ensure this field has at least ${p.limit} elements.`;
    case 'maxItems':
      return `Ensure this field has no more than ${p.limit} elements.`;
    case 'enum':
      return `Not a valid choice. Choose from: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}.`;
    case 'format':
      return p.format === 'uuid'
        ? 'Must be a valid UUID.'
        : p.format === 'date-time'
          ? 'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'
          : `Enter a valid ${p.format}.`;
    case 'pattern':
      return 'Enter a valid value.';
    default:
      return error.message ?? 'Invalid value.';
  }
}

/** Ajv's errors as DRF-style field errors: `{"field": ["message", ...]}`, `non_field_errors` for the root. */
export function toValidationFailed(errors: ErrorObject[]): ValidationFailed {
  const fields: FieldErrors = {};
  const nonField: string[] = [];
  for (const error of errors) {
    const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (error.keyword === 'required') segments.push(String((error.params as { missingProperty: string }).missingProperty));
    const message = messageFor(error);
    if (segments.length === 0) {
      const root = error.keyword === 'type' ? `Invalid data. Expected a dictionary, but got ${describe(error.data)}.` : message;
      if (!nonField.includes(root)) nonField.push(root);
      continue;
    }
    const key = segments.join('.');
    const list = (fields[key] ??= []);
    if (!list.includes(message)) list.push(message);
  }
  return new ValidationFailed(fields, nonField);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  return typeof value === 'string' ? 'str' : typeof value === 'number' ? (Number.isInteger(value) ? 'int' : 'float') : typeof value === 'boolean' ? 'bool' : typeof value;
}
