import { Type } from 'typebox';
import { MAX_WAIT_SECONDS, TASK_STATUSES, type TaskService } from '../../../core/tasks/task-service.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, ErrorBody, IdParams } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { renderTask, sendAccepted, TASKS_COLLECTION } from './task-body.ts';
import { TaskBody, TasksPost } from '../wire/tasks.ts';

/** `/api/tasks/tasks/`: the asynchronous operations of the acting organization's subtree. */
export function taskRoutes(app: FastifyTypeBox, tasks: TaskService): void {
  const tags = ['tasks'];

  collectionRoutes(app, {
    path: TASKS_COLLECTION,
    tags,
    errors: commonErrors,
    item: TaskBody,
    render: renderTask,
    list: {
      summary: 'List tasks, newest first',
      filters: {
        status: Type.Optional(Type.String({ maxLength: 200, description: `One or more of ${TASK_STATUSES.join(', ')}, comma-separated.` })),
        type: Type.Optional(Type.String({ maxLength: 100 })),
        resource: Type.Optional(Type.String({ maxLength: 300, description: 'Tasks touching this resource: `<id>` or `<type>:<id>`.' })),
      },
      run: tasks.list,
    },
    retrieve: { summary: 'Retrieve a task', run: tasks.get },
  });

  // 202 with the task, not 201 with a resource.
  app.post(TASKS_COLLECTION, {
    schema: { tags, summary: 'Enqueue a task of a user-creatable type', body: TasksPost, response: { 202: TaskBody, ...commonErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await tasks.create(request.actor, request.body)),
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
