import { Type } from 'typebox';
import type { Actor } from '../../core/actor.ts';
import { NotFound } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import type { Task } from '../../core/tasks/task-service.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { instanceRenderer, renderSnapshot, renderVolume } from './renderers.ts';
import { taskStatus } from './replies.ts';

/** CloudMC keeps a task this long after it finished; then it is a 404. */
export const TASK_LIFETIME_MS = 30 * 60 * 1000;

const IdParams = Type.Object({ id: Type.String({ maxLength: 200 }) });

/**
 * `GET /api/v2/tasks/:id`, in both shapes clients read: the documented `{taskId, taskStatus,
 * result}` and the clients' `{data: {id, status, created, result}}` (go-cloudca needs `created`).
 */
export function taskRoutes(app: FastifyTypeBox, { tasks, compute }: Pick<CoreServices, 'tasks' | 'compute'>): void {
  const { renderInstance } = instanceRenderer(compute.images);

  /** What the task made or changed, as it is now; `{id}` once it is gone. */
  async function resultOf(actor: Actor, task: Task): Promise<unknown> {
    const resource = task.resources[0];
    if (!resource) return task.result ?? {};
    const now = async () => {
      if (resource.type === 'server') return renderInstance(actor, await compute.servers.get(actor, resource.id));
      if (resource.type === 'volume') return renderVolume(await compute.volumes.get(actor, resource.id));
      if (resource.type === 'snapshot') return renderSnapshot(await compute.snapshots.get(actor, resource.id));
      return task.result ?? {};
    };
    return now().catch((error) => (error instanceof NotFound ? { id: resource.id } : Promise.reject(error)));
  }

  app.get('/api/v2/tasks/:id', { schema: { params: IdParams } }, async (request) => {
    const task = await tasks.get(request.actor, request.params.id);
    if (task.finishedAt && Date.now() - Date.parse(task.finishedAt) > TASK_LIFETIME_MS) throw new NotFound('task', 'No task matches the given query.');
    const status = taskStatus(task.status);
    const result = status === 'SUCCESS' ? await resultOf(request.actor, task) : undefined;
    const error = status === 'FAILED' ? { message: task.error?.message ?? 'The task failed.' } : undefined;
    return {
      taskId: task.id,
      taskStatus: status,
      ...(result === undefined ? {} : { result }),
      data: { id: task.id, status, created: task.createdAt, ...(result === undefined ? {} : { result }), ...(error ? { error } : {}) },
    };
  });
}
