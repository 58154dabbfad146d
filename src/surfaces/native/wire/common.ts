import { Type, type TSchema } from 'typebox';

/** Wire schema pieces shared by the native API's resources. */
export const Uuid = Type.String({ format: 'uuid', examples: ['a540bf0f-8b37-4f03-8546-dd71c6b03329'] });
export const Timestamp = Type.String({ format: 'date-time', examples: ['2026-11-23T11:04:38.123Z'] });
export const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

export const ErrorBody = Type.Object(
  { detail: Type.String(), code: Type.String(), request_id: Type.Optional(Type.String()) },
  { additionalProperties: true, description: 'Any error other than validation: `{"detail", "code"}`.' },
);
export const ValidationErrorBody = Type.Record(Type.String(), Type.Array(Type.String()), {
  description: 'Field errors `{"field": ["message"]}`; object-level errors under `non_field_errors`.',
});

/** Error responses every authenticated route can give, for the OpenAPI document. */
export const commonErrors = {
  400: ValidationErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  412: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
} as const;

/** Errors of routes that need the compute host: 503 when servers cannot run on this machine. */
export const computeErrors = { ...commonErrors, 503: ErrorBody } as const;

/** A size in bytes. */
export const Bytes = (description: string) => Type.Integer({ minimum: 0, description: `${description}, in bytes.` });

/** The `task` field of a created compute resource: the task doing the work (its state shows progress). */
export const CreatedTask = { task: Type.Union([Uuid, Type.Null()], { description: 'The id of the task making this resource; GET /api/tasks/tasks/<id>/wait/ waits for it.' }) };

/** The schema, or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** A short fixed collection answered as one page of the native list shape. */
export const OnePage = <T extends TSchema>(item: T) =>
  Type.Object({ count: Type.Integer(), current: Type.Integer(), next: Type.Null(), previous: Type.Null(), last: Type.Integer(), results: Type.Array(item) });

export function onePage<T>(results: T[]) {
  return { count: results.length, current: 1, next: null, previous: null, last: 1, results };
}
