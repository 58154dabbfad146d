import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { baseUrl } from '../../../http/surface.ts';
import { Uuid } from '../schemas.ts';

/** The `task` field of a created compute resource: the task doing the work (its state shows progress). */
export const CreatedTask = { task: Type.Union([Uuid, Type.Null()], { description: 'The id of the task making this resource; GET /api/tasks/tasks/<id>/wait/ waits for it.' }) };

export const resourceUrl = (request: FastifyRequest, collection: string, id: string) => `${baseUrl(request)}${collection}${id}/`;

/** 201 with `Location`, the resource and the id of the task making it. */
export function sendCreated<T extends object>(request: FastifyRequest, reply: FastifyReply, collection: string, id: string, body: T, taskId: string) {
  reply.code(201).header('location', resourceUrl(request, collection, id));
  return { ...body, task: taskId };
}

export const Bytes = (description: string) => Type.Integer({ minimum: 0, description: `${description}, in bytes.` });
