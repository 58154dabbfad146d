import type { Selectable } from 'kysely';

export type TaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelling' | 'cancelled';

export interface TasksTable {
  id: string;
  type: string;
  status: TaskStatus;
  /** 0-100. */
  progress: number;
  progress_message: string;
  /** JSON: what the handler was asked to do. */
  input: string;
  /** JSON array of `{type, id}`: what the task changes (also indexed in `task_resources`). */
  resources: string;
  /** JSON, once succeeded. */
  result: string | null;
  /** JSON `{code, message, context}`, once failed (or the last retryable failure). */
  error: string | null;
  /** JSON map of completed step name -> its result, so a re-run skips what already happened. */
  checkpoint: string;
  may_cancel: number;
  attempts: number;
  max_attempts: number;
  requested_by: string | null;
  organization_id: string;
  organization_path: string;
  request_id: string | null;
  /** A pending task is not claimed before this time (retry backoff). */
  run_after: string;
  /** The worker holding the task, and until when its lease lasts (renewed by heartbeats). */
  locked_by: string | null;
  locked_until: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** One row per resource a task touches: the `resource` filter and the resource locks read it. */
export interface TaskResourcesTable {
  task_id: string;
  resource_type: string;
  resource_id: string;
}

/** A resource (`type:id`) is changed by at most one running task: the holder of this row. */
export interface ResourceLocksTable {
  resource: string;
  task_id: string;
}

export interface TaskTables {
  tasks: TasksTable;
  task_resources: TaskResourcesTable;
  resource_locks: ResourceLocksTable;
}

export type TaskRow = Selectable<TasksTable>;
