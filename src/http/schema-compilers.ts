import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';

/**
 * Fastify compiles every route's validators and response serializers when it starts (each GET
 * route's again for its HEAD twin): hundreds of generated functions, most of them for routes an
 * installation seldom or never calls, held for the life of the process. Compiled on first use
 * instead, a route costs nothing until it is called: a smaller idle process and a faster start.
 * What is not compiled yet waits in `pending`, so that `compilePendingSchemas()` lets a test
 * prove that every route's schemas do compile; weakly, so that a closed app's routes go.
 */
const pending = new Set<WeakRef<() => unknown>>();

function onFirstUse<T>(compile: () => T): () => T {
  let compiled: T | undefined;
  const get = (): T => {
    if (compiled === undefined) {
      compiled = compile();
      pending.delete(entry);
    }
    return compiled;
  };
  const entry = new WeakRef(get);
  pending.add(entry);
  return get;
}

/** Compiles every schema still waiting for its first use; throws what a schema's compilation throws. */
export function compilePendingSchemas(): number {
  let count = 0;
  for (const entry of [...pending]) {
    const compile = entry.deref();
    pending.delete(entry);
    if (compile) (count++, compile());
  }
  return count;
}

/** `compiler`'s validators, each compiled when it first validates. */
export function validatorsOnFirstUse(compiler: FastifySchemaCompiler<object>): FastifySchemaCompiler<object> {
  return (route) => {
    const compiled = onFirstUse(() => compiler(route) as ValidateFunction);
    const validate = ((data: unknown, context?: never) => {
      const real = compiled();
      const valid = real(data, context);
      validate.errors = real.errors;
      return valid;
    }) as ValidateFunction;
    // Any value: Fastify then passes the parent object, which Ajv needs to coerce or default a root value.
    validate.schemaEnv = true as unknown as ValidateFunction['schemaEnv'];
    return validate;
  };
}

type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);
const SCALAR_TYPES = new Set(['string', 'integer', 'number', 'boolean']);
// fast-json-stringify writes a Date for these formats: it must know which branch a value takes.
const DATE_FORMATS = new Set(['date-time', 'date', 'time']);
const STRUCTURE = ['anyOf', 'oneOf', 'allOf', 'not', 'if', '$ref', 'properties', 'items', 'const', 'enum'];

/** A scalar schema a value can be told from `null` by its type alone. */
const isPlainScalar = (schema: unknown): schema is Schema =>
  isSchema(schema) && SCALAR_TYPES.has(schema.type as string) && !DATE_FORMATS.has(schema.format as string) && !STRUCTURE.some((key) => key in schema);
const isNull = (schema: unknown) => isSchema(schema) && schema.type === 'null' && Object.keys(schema).length === 1;

/**
 * The schema a response serializer is compiled from: each `anyOf` of a scalar and `null` (a
 * nullable id or name, in most items) as one schema of two types. fast-json-stringify writes
 * the two-type form by the value's type, and the union by running a validator over every value
 * to pick its branch, formats included, which for a page of items costs more than writing them.
 * The routes' own schemas, which the API description shows, are left as they are.
 */
export function serializedForm(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(serializedForm);
  if (!isSchema(schema)) return schema;
  const { anyOf, ...siblings } = schema;
  if (Array.isArray(anyOf) && anyOf.length === 2 && anyOf.some(isNull)) {
    const scalar = anyOf.find((branch) => !isNull(branch));
    if (isPlainScalar(scalar)) return { ...scalar, ...siblings, type: [scalar.type, 'null'] };
  }
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, serializedForm(value)]));
}

/** Fastify's own response serializers (fast-json-stringify), each compiled when it first serializes. */
export const serializersOnFirstUse: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildSerializer(externalSchemas, options) {
      const compile = SerializerSelector()(externalSchemas, options);
      return (route) => {
        const compiled = onFirstUse(() => compile({ ...route, schema: serializedForm(route.schema) }));
        return (data: unknown) => compiled()(data);
      };
    },
  },
};
