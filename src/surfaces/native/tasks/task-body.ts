import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Task } from '../../../core/tasks/task-service.ts';
import { baseUrl } from '../../../http/surface.ts';

export const TASKS_COLLECTION = '/api/tasks/tasks/';

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
