import type { Generated, Selectable } from 'kysely';

/** queued -> running -> success | failed. */
export type CommandStatus = 'queued' | 'running' | 'success' | 'failed';

/** A shell line run on a server, on behalf of a user, by a `command.run` task. */
export interface CommandsTable {
  id: string;
  organization_id: string;
  organization_path: string;
  server_id: string;
  /** `system`: the server's own `/bin/sh`. */
  shell: string;
  line: string;
  /** JSON object of string values. */
  env: string;
  username: string;
  groupname: string;
  /** JSON array of the ids of the commands that must finish before this one starts. */
  run_after: string;
  status: CommandStatus;
  /** 0/1 once finished; null before. */
  success: number | null;
  exit_code: number | null;
  /** The end of the output once finished (the whole output is in `command_chunks`). */
  result: string | null;
  /** Seconds, with fractions. */
  elapsed_time: number | null;
  /** The command is stopped once it has run this long. */
  timeout_seconds: Generated<number>;
  /** Characters cut from the start of the stored output to keep it within the limit (0: all kept). */
  output_cut: Generated<number>;
  task_id: string;
  requested_by: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A command's output in pieces, in order: stdout and stderr interleaved as they came. */
export interface CommandChunksTable {
  command_id: string;
  /** 0, 1, 2... with no gap. */
  seq: number;
  content: string;
  created_at: string;
}

export interface CommandTables {
  commands: CommandsTable;
  command_chunks: CommandChunksTable;
}

export type CommandRow = Selectable<CommandsTable>;
export type CommandChunkRow = Selectable<CommandChunksTable>;
