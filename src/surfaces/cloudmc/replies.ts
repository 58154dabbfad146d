import type { Task } from '../../core/tasks/task-service.ts';
import type { TaskStatus } from '../../store/schema.ts';

/** CloudMC's envelopes: `{data}`, lists `{data, metadata: {recordCount}}`, async `{taskId, taskStatus}`. */

export const single = <T>(data: T) => ({ data });

export const many = <T>(data: T[]) => ({ data, metadata: { recordCount: data.length } });

const TASK_STATUSES: Record<TaskStatus, 'PENDING' | 'SUCCESS' | 'FAILED'> = {
  pending: 'PENDING',
  running: 'PENDING',
  cancelling: 'PENDING',
  succeeded: 'SUCCESS',
  failed: 'FAILED',
  cancelled: 'FAILED',
};

export const taskStatus = (status: TaskStatus) => TASK_STATUSES[status];

/** The answer to an operation that runs as a task, with the entity as it is now when there is one. */
export function accepted(task: Task, data?: unknown) {
  return { taskId: task.id, taskStatus: taskStatus(task.status), ...(data === undefined ? {} : { data }) };
}
