import type { Actor } from '../../core/actor.ts';
import { MAX_PAGE_SIZE, type ListRequest, type ListResult } from '../../core/listing.ts';
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

/** CloudMC lists are whole: every page of a core list, in its default order. */
export async function everything<Row>(run: (actor: Actor, request: ListRequest) => Promise<ListResult<Row>>, actor: Actor, filters: Record<string, string> = {}): Promise<Row[]> {
  const rows: Row[] = [];
  for (let page = 1; ; page++) {
    const result = await run(actor, { filters, pagination: { style: 'page', page, pageSize: MAX_PAGE_SIZE } });
    rows.push(...result.items);
    if (result.style !== 'page' || page >= result.lastPage) return rows;
  }
}
