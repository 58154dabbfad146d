import type { Transaction } from 'kysely';
import type { Database } from '../../store/schema.ts';
import type { FieldErrors } from '../errors.ts';

export interface ResourceRef {
  type: string;
  id: string;
}

/** What a handler gets for one run of one task. */
export interface TaskContext {
  taskId: string;
  type: string;
  input: Record<string, unknown>;
  /** 1 on the first run; higher when the task is retried or taken over from a crashed worker. */
  attempt: number;
  /** Aborted when the task is cancelled, its lease is lost, or the worker stops for good. */
  signal: AbortSignal;
  progress(percent: number, message?: string): Promise<void>;
  /**
   * Runs `work` at most once per task, across retries and crashes: `work`'s database writes
   * and the record that the step is done commit in one transaction, and a later run of the task
   * gets the recorded result (which must be JSON) instead of running it again. Side effects outside the database
   * must be idempotent (keyed by the task id), since a crash can interrupt them.
   */
  step<T>(name: string, work: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
}

export interface TaskHandler {
  /** Whether a user with `task:write` may enqueue this type through the API. */
  userCreatable?: boolean;
  /** Checks a user's input; returns field errors. Only for user-creatable types. */
  validateInput?(input: Record<string, unknown>): FieldErrors;
  /** The resources a task of this type changes: at most one running task holds each. */
  resourcesOf?(input: Record<string, unknown>): ResourceRef[];
  /** Whether a running task of this type may be cancelled (its handler honours `signal`). */
  mayCancel?: boolean;
  /** Runs before giving up on retryable failures (default 5). */
  maxAttempts?: number;
  run(context: TaskContext): Promise<unknown>;
}

/** A failure worth another attempt later (a backend was briefly unavailable...). */
export class RetryableError extends Error {
  constructor(message: string, readonly code = 'temporarily_unavailable') {
    super(message);
  }
}

export type TaskHandlerRegistry = ReturnType<typeof createTaskHandlerRegistry>;

/** Task types and their handlers, registered in code by each domain when the process is composed. */
export function createTaskHandlerRegistry() {
  const handlers = new Map<string, TaskHandler>();
  return {
    register(type: string, handler: TaskHandler): void {
      if (handlers.has(type)) throw new Error(`task type "${type}" is registered twice`);
      handlers.set(type, handler);
    },
    get: (type: string) => handlers.get(type),
    types: () => [...handlers.keys()],
    userCreatableTypes: () => [...handlers].filter(([, h]) => h.userCreatable).map(([type]) => type),
  };
}
