import { Type } from 'typebox';
import { MAX_WAIT_SECONDS, TASK_STATUSES, type TaskService } from '../../../core/tasks/task-service.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, ErrorBody, IdParams } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';
import { renderTask, sendAccepted, TaskBody, TASKS_COLLECTION } from './task-body.ts';

const TasksPost = Type.Object({
  type: Type.String({ maxLength: 100, description: 'A task type users may create, such as `noop`.' }),
  input: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});

/** `/api/tasks/tasks/`: the asynchronous operations of the acting organization's subtree. */
export function taskRoutes(app: FastifyTypeBox, tasks: TaskService): void {
  const tags = ['tasks'];

  app.get(TASKS_COLLECTION, {
    schema: {
      tags,
      summary: 'List tasks, newest first',
      querystring: listQuerySchema({
        status: Type.Optional(Type.String({ maxLength: 200, description: `One or more of ${TASK_STATUSES.join(', ')}, comma-separated.` })),
        type: Type.Optional(Type.String({ maxLength: 100 })),
        resource: Type.Optional(Type.String({ maxLength: 300, description: 'Tasks touching this resource: `<id>` or `<type>:<id>`.' })),
      }),
      response: { 200: listResponseSchema(TaskBody), ...commonErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await tasks.list(request.actor, toListRequest(request.query)), renderTask(request)),
  });

  app.post(TASKS_COLLECTION, {
    schema: { tags, summary: 'Enqueue a task of a user-creatable type', body: TasksPost, response: { 202: TaskBody, ...commonErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await tasks.create(request.actor, request.body)),
  });

  app.get(`${TASKS_COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve a task', params: IdParams, response: { 200: TaskBody, ...commonErrors } },
    handler: async (request) => renderTask(request)(await tasks.get(request.actor, request.params.id)),
  });

  app.get(`${TASKS_COLLECTION}:id/wait/`, {
    schema: {
      tags,
      summary: 'Wait until a task finishes (long poll)',
      params: IdParams,
      querystring: Type.Object({
        timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS, default: 30, description: 'Seconds to wait at most.' })),
      }),
      response: { 200: TaskBody, ...commonErrors },
    },
    handler: async (request) => renderTask(request)(await tasks.wait(request.actor, request.params.id, request.query.timeout ?? 30)),
  });

  app.post(`${TASKS_COLLECTION}:id/cancel/`, {
    schema: {
      tags,
      summary: 'Cancel a task: a pending one at once, a running one if it may be cancelled',
      params: IdParams,
      response: { 200: TaskBody, ...commonErrors, 409: ErrorBody },
    },
    handler: async (request) => renderTask(request)(await tasks.cancel(request.actor, request.params.id)),
  });
}
