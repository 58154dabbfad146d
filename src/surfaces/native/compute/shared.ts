import type { FastifyReply, FastifyRequest } from 'fastify';
import { baseUrl } from '../../../http/surface.ts';

export const resourceUrl = (request: FastifyRequest, collection: string, id: string) => `${baseUrl(request)}${collection}${id}/`;

/** 201 with `Location`, the resource and the id of the task making it. */
export function sendCreated<T extends object>(request: FastifyRequest, reply: FastifyReply, collection: string, id: string, body: T, taskId: string) {
  reply.code(201).header('location', resourceUrl(request, collection, id));
  return { ...body, task: taskId };
}
