import type { ServerSummary, UserSummary } from '../summaries.ts';
import type { CommandChunkRow, CommandRow, CommandStatus, TaskStatus } from '../../store/schema.ts';

export const COMMAND_STATUSES: CommandStatus[] = ['queued', 'running', 'success', 'failed'];
export const FINISHED_STATUSES: ReadonlySet<CommandStatus> = new Set(['success', 'failed']);

/**
 * Whether a command's task ended without it (cancelled while pending, or given up on), given the
 * task's status: null or undefined when the task row is gone (purged), which means the same.
 * Such a command will never finish on its own.
 */
export function taskEndedWithout(taskStatus: TaskStatus | null | undefined): boolean {
  return taskStatus == null || taskStatus === 'cancelled' || taskStatus === 'failed';
}

export interface Command {
  id: string;
  organizationId: string;
  serverId: string;
  shell: string;
  line: string;
  env: Record<string, string>;
  username: string;
  groupname: string;
  runAfter: string[];
  status: CommandStatus;
  /** null until finished. */
  success: boolean | null;
  exitCode: number | null;
  result: string | null;
  /** Seconds. */
  elapsedTime: number | null;
  timeoutSeconds: number;
  /** Characters cut from the start of the stored output (0: the whole output is kept). */
  outputCut: number;
  taskId: string;
  requestedBy: string | null;
  /** The server it runs on and the user who asked for it, as they are now. */
  server: ServerSummary;
  requester: UserSummary | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface CommandChunk {
  seq: number;
  content: string;
  createdAt: string;
}

/** What a masked environment value shows instead of the value. */
export const MASKED_VALUE = '********';

/**
 * A command as its reader may see it: environment values often hold secrets, so only a reader
 * who may run commands (`command:write`) sees them; anyone else sees the names, masked.
 */
export function toCommand(row: CommandRow, { revealEnv, server, requester }: { revealEnv: boolean; server: ServerSummary; requester: UserSummary | null }): Command {
  const env: Record<string, string> = JSON.parse(row.env);
  return {
    id: row.id,
    organizationId: row.organization_id,
    serverId: row.server_id,
    shell: row.shell,
    line: row.line,
    env: revealEnv ? env : Object.fromEntries(Object.keys(env).map((name) => [name, MASKED_VALUE])),
    username: row.username,
    groupname: row.groupname,
    runAfter: JSON.parse(row.run_after),
    status: row.status,
    success: row.success === null ? null : row.success === 1,
    exitCode: row.exit_code,
    result: row.result,
    elapsedTime: row.elapsed_time === null ? null : Number(row.elapsed_time),
    timeoutSeconds: row.timeout_seconds,
    outputCut: Number(row.output_cut),
    taskId: row.task_id,
    requestedBy: row.requested_by,
    server,
    requester,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export function toChunk(row: Pick<CommandChunkRow, 'seq' | 'content' | 'created_at'>): CommandChunk {
  return { seq: Number(row.seq), content: row.content, createdAt: row.created_at };
}

/** The event recording a command's change, in the transaction that makes it. */
export function commandEvent(row: Pick<CommandRow, 'id' | 'organization_id' | 'organization_path' | 'requested_by' | 'server_id'>, verb: 'created' | 'finished', data: Record<string, unknown> = {}, requestId: string | null = null) {
  return {
    type: `command.${verb}`,
    organizationId: row.organization_id,
    organizationPath: row.organization_path,
    actor: row.requested_by,
    resource: { type: 'command', id: row.id },
    data: { server: row.server_id, ...data },
    requestId,
  };
}
