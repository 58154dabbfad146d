import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { parseTimestamp } from '../core/clock.ts';
import { ValidationFailed, type FieldErrors } from '../core/errors.ts';

/**
 * Bodies are validated strictly (no type coercion, unknown fields dropped, every error at
 * once); query strings, params and headers arrive as text and are coerced to their types.
 */
function makeAjv(coerce: boolean): Ajv {
  // verbose: errors carry the offending value, which messages name ("Expected a dictionary, but got list").
  const ajv = new Ajv({ coerceTypes: coerce ? 'array' : false, useDefaults: true, removeAdditional: true, allErrors: true, verbose: true, strict: false });
  addFormats.default(ajv);
  // RFC 3339 allows second 60, which no JavaScript date holds: accept only timestamps core can read.
  const rfc3339 = ajv.formats['date-time'] as { validate: (value: string) => boolean };
  ajv.addFormat('date-time', { type: 'string', validate: (value: string) => rfc3339.validate(value) && parseTimestamp(value) !== null });
  return ajv;
}

const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);
const compiled = new WeakMap<object, ValidateFunction>();

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  const cached = httpPart === 'body' ? undefined : compiled.get(schema);
  if (cached) return cached;
  const validate = refusingNullCharacters(ajv.compile(schema));
  if (httpPart !== 'body') compiled.set(schema, validate);
  return validate;
};

/**
 * PostgreSQL cannot store U+0000 in text, and no field of ours needs it: a string carrying
 * one is refused here, for every route and field at once, as DRF does.
 */
function refusingNullCharacters(validate: ValidateFunction): ValidateFunction {
  const checked = ((data: unknown, context?: never) => {
    if (!validate(data, context)) {
      checked.errors = validate.errors;
      return false;
    }
    const path = nullCharacterPath(data);
    checked.errors = path === null ? null : [{ instancePath: path, keyword: 'nullCharacter', schemaPath: '#', params: {}, data }];
    return path === null;
  }) as ValidateFunction;
  // Fastify passes the parent object (so that a root value can be coerced) when this is set.
  checked.schemaEnv = validate.schemaEnv;
  checked.schema = validate.schema;
  return checked;
}

/** A value still to look into, and how it was reached (its pointer is spelled out only for the one found). */
interface Visit {
  value: unknown;
  parent: Visit | null;
  key: string;
}

/** The JSON pointer of `visit`, walked back iteratively like the search itself (a body may nest deeper than the stack). */
function pointerOf(visit: Visit): string {
  const keys: string[] = [];
  for (let at: Visit = visit; at.parent; at = at.parent) keys.push(at.key.replace(/~/g, '~0').replace(/\//g, '~1'));
  return keys.reverse().map((key) => `/${key}`).join('');
}

/** The JSON pointer of the first string (or key) holding U+0000; iterative, as bodies may nest deeply. */
function nullCharacterPath(root: unknown): string | null {
  const pending: Visit[] = [{ value: root, parent: null, key: '' }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value } = next;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return pointerOf(next);
    } else if (typeof value === 'object' && value !== null) {
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        if (key.includes('\u0000')) return pointerOf(next);
        pending.push({ value: (value as Record<string, unknown>)[key], parent: next, key });
      }
    }
  }
  return null;
}

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
    case 'nullCharacter':
      return 'Null characters are not allowed.';
    default:
      return error.message ?? 'Invalid value.';
  }
}

/** The field an Ajv error is about, as path segments: where it is, and the missing or extra property it names. */
export function fieldPath(error: ErrorObject): string[] {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required') segments.push(String(params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(params.additionalProperty));
  return segments;
}

/** Ajv's errors as DRF-style field errors: `{"field": ["message", ...]}`, `non_field_errors` for the root. */
export function toValidationFailed(errors: ErrorObject[]): ValidationFailed {
  // No prototype: a field named `toString`, `constructor` or `__proto__` is a field like any other.
  const fields: FieldErrors = Object.create(null);
  const nonField: string[] = [];
  for (const error of errors) {
    const segments = fieldPath(error);
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
