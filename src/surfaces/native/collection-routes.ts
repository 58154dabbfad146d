import type { FastifyRequest } from 'fastify';
import { Type, type Static, type TProperties, type TSchema } from 'typebox';
import type { Actor } from '../../core/actor.ts';
import type { ListRequest, ListResult } from '../../core/listing.ts';
import type { Task } from '../../core/tasks/task-service.ts';
import { expectedRevision, revisionEtag } from '../../http/conventions/etag.ts';
import { baseUrl } from '../../http/surface.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest, type ListQuery } from './pagination.ts';
import { IdParams } from './wire/common.ts';
import { sendAccepted } from './tasks/task-body.ts';
import { TaskBody } from './wire/tasks.ts';
import type { FastifyTypeBox } from './types.ts';

/** What a create made: the row, and fields shown beside it in this answer only (a secret, the task making it). */
export interface Created<Row> {
  row: Row;
  extra?: object;
}

type RemoveOptions = { expectedRevision?: number };

/**
 * The standard routes of a collection at `path`: list (GET), create (POST), retrieve (GET
 * `<id>/`), replace and update (PUT, PATCH `<id>/`) and delete (DELETE `<id>/`), each only when
 * described. Routes that differ from these are written by hand beside the call. The `run`
 * functions may be a service's own functions (`organizations.get`): they are called detached.
 */
export interface Collection<Row extends { id: string; revision?: number }, Filters extends TProperties, CreateBody extends TSchema, UpdateBody extends TSchema> {
  /** The collection's path, with its trailing slash; an item is at `<path><id>/`. */
  path: string;
  tags: string[];
  /** The error responses every route declares: `commonErrors` or `computeErrors`. */
  errors: Record<number, TSchema>;
  /** One item, as `render` makes it. */
  item: TSchema;
  render: (request: FastifyRequest) => (row: Row) => object;
  /** Rows carry revisions: create, retrieve and update answer their ETag, and update honours If-Match. */
  revisions?: boolean;
  /** An id naming the caller (users' `-`): If-Match is not checked on it. */
  self?: string;
  list?: { summary: string; filters: Filters; run: (actor: Actor, request: ListRequest) => Promise<ListResult<Row>> };
  /** 201 with the item and `extra`; `Location` at the item with `location`. `response` when it is not the item. */
  create?: { summary: string; body: CreateBody; response?: TSchema; location?: boolean; run: (actor: Actor, body: Static<CreateBody>) => Promise<Created<Row>> };
  /** `extra`: fields one item shows beside its rendering when retrieved alone (they may need a lookup). */
  retrieve?: { summary: string; run: (actor: Actor, id: string) => Promise<Row>; extra?: (request: FastifyRequest, row: Row) => Promise<object> };
  /** PATCH, and PUT when `replace` is given (its body must be one `run` accepts too; `partial` tells them apart). */
  update?: {
    summary: string;
    body: UpdateBody;
    replace?: { summary: string; body: TSchema };
    run: (actor: Actor, id: string, body: Static<UpdateBody>, options: { partial: boolean; expectedRevision?: number }) => Promise<Row>;
  };
  /** 204, or with `accepted` 202 with the task doing it. `ifMatch`: honour If-Match. */
  remove?:
    | { summary: string; ifMatch?: boolean; accepted?: false; run: (actor: Actor, id: string, options: RemoveOptions) => Promise<void> }
    | { summary: string; ifMatch?: boolean; accepted: true; run: (actor: Actor, id: string, options: RemoveOptions) => Promise<Task> };
}

export function collectionRoutes<Row extends { id: string; revision?: number }, Filters extends TProperties, CreateBody extends TSchema, UpdateBody extends TSchema>(
  app: FastifyTypeBox,
  collection: Collection<Row, Filters, CreateBody, UpdateBody>,
): void {
  const { path, tags, errors, item, render, revisions, list, create, retrieve, update, remove } = collection;
  const itemPath = `${path}:id/`;
  // Only rows with revisions get here (`revisions: true`).
  const tag = (row: Row) => revisionEtag(row.id, row.revision!);
  const ifMatch = (request: FastifyRequest, id: string) => (id === collection.self ? undefined : expectedRevision(request, id));

  if (list) {
    app.get(path, {
      schema: { tags, summary: list.summary, querystring: listQuerySchema(list.filters), response: { 200: listResponseSchema(item), ...errors } },
      handler: async (request, reply) => sendList(request, reply, await list.run(request.actor, toListRequest(request.query as ListQuery)), render(request)),
    });
  }

  if (create) {
    app.post(path, {
      schema: { tags, summary: create.summary, body: create.body, response: { 201: create.response ?? item, ...errors } },
      handler: async (request, reply) => {
        const { row, extra } = await create.run(request.actor, request.body as Static<CreateBody>);
        reply.code(201);
        if (create.location) reply.header('location', `${baseUrl(request)}${path}${row.id}/`);
        if (revisions) reply.header('etag', tag(row));
        return { ...render(request)(row), ...extra };
      },
    });
  }

  if (retrieve) {
    app.get(itemPath, {
      schema: { tags, summary: retrieve.summary, params: IdParams, response: { 200: item, ...errors } },
      handler: async (request, reply) => {
        const found = await retrieve.run(request.actor, request.params.id);
        if (revisions) reply.header('etag', tag(found));
        return { ...render(request)(found), ...(retrieve.extra ? await retrieve.extra(request, found) : {}) };
      },
    });
  }

  if (update) {
    const methods = [...(update.replace ? [{ method: 'PUT' as const, ...update.replace, partial: false }] : []), { method: 'PATCH' as const, summary: update.summary, body: update.body, partial: true }];
    for (const { method, summary, body, partial } of methods) {
      app.route({
        method,
        url: itemPath,
        schema: { tags, summary, params: IdParams, body, response: { 200: item, ...errors } },
        handler: async (request, reply) => {
          const { id } = request.params;
          const updated = await update.run(request.actor, id, request.body as Static<UpdateBody>, { partial, expectedRevision: revisions ? ifMatch(request, id) : undefined });
          if (revisions) reply.header('etag', tag(updated));
          return render(request)(updated);
        },
      });
    }
  }

  if (remove) {
    app.delete(itemPath, {
      schema: { tags, summary: remove.summary, params: IdParams, response: remove.accepted ? { 202: TaskBody, ...errors } : { 204: Type.Null(), ...errors } },
      handler: async (request, reply) => {
        const { id } = request.params;
        const options = { expectedRevision: remove.ifMatch ? ifMatch(request, id) : undefined };
        if (remove.accepted) return sendAccepted(request, reply, await remove.run(request.actor, id, options));
        await remove.run(request.actor, id, options);
        return reply.code(204).send(null);
      },
    });
  }
}
