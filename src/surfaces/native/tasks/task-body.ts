import { Type } from 'typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Task } from '../../../core/tasks/task-service.ts';
import type { TaskStatus } from '../../../store/schema.ts';
import { TASK_STATUSES } from '../../../core/tasks/task-service.ts';
import { baseUrl } from '../../../http/surface.ts';
import { Timestamp, Uuid } from '../schemas.ts';

export const TASKS_COLLECTION = '/api/tasks/tasks/';

export const TaskBody = Type.Object({
  id: Uuid,
  type: Type.String({ examples: ['noop'] }),
  status: Type.Unsafe<TaskStatus>(Type.Union(TASK_STATUSES.map((s) => Type.Literal(s)))),
  progress: Type.Object({ percent: Type.Integer({ minimum: 0, maximum: 100 }), message: Type.String() }),
  resources: Type.Array(Type.Object({ type: Type.String(), id: Type.String() }), { description: 'What the task changes.' }),
  input: Type.Record(Type.String(), Type.Unknown()),
  result: Type.Unknown({ description: 'What the handler returned, once succeeded.' }),
  error: Type.Union([
    Type.Object({ code: Type.String(), message: Type.String(), context: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
    Type.Null(),
  ]),
  may_cancel: Type.Boolean(),
  attempts: Type.Integer(),
  requested_by: Type.Union([Uuid, Type.Null()]),
  organization: Uuid,
  request_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  started_at: Type.Union([Timestamp, Type.Null()]),
  finished_at: Type.Union([Timestamp, Type.Null()]),
  url: Type.String({ description: 'Absolute URL of this task.' }),
});

export function taskUrl(request: FastifyRequest, id: string): string {
  return `${baseUrl(request)}${TASKS_COLLECTION}${id}/`;
}

export function renderTask(request: FastifyRequest) {
  return (t: Task) => ({
    id: t.id,
    type: t.type,
    status: t.status,
    progress: { percent: t.progress, message: t.progressMessage },
    resources: t.resources,
    input: t.input,
    result: t.result,
    error: t.error,
    may_cancel: t.mayCancel,
    attempts: t.attempts,
    requested_by: t.requestedBy,
    organization: t.organizationId,
    request_id: t.requestId,
    created_at: t.createdAt,
    started_at: t.startedAt,
    finished_at: t.finishedAt,
    url: taskUrl(request, t.id),
  });
}

/**
 * The answer to every asynchronous request of the native API: 202 Accepted, `Location` at the
 * task, and the task in the body. Declare `202: TaskBody` in the route's response schema.
 */
export function sendAccepted(request: FastifyRequest, reply: FastifyReply, task: Task) {
  reply.code(202).header('location', taskUrl(request, task.id));
  return renderTask(request)(task);
}
