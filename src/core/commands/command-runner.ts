import { ComputeRejected, ComputeUnavailable, type ComputeHost } from '../../backends/compute-host.ts';
import type { Store } from '../../store/database.ts';
import { nextWakeUp, type Notifier } from '../../store/notifier.ts';
import type { CommandRow } from '../../store/schema.ts';
import { nowIso } from '../clock.ts';
import type { EventService } from '../events/event-service.ts';
import type { TaskContext, TaskHandler } from '../tasks/handlers.ts';
import { FINISHED_STATUSES, taskEndedWithout } from './command-model.ts';
import { finishCommand, type Outcome } from './command-outcome.ts';
import { createOutputRecorder, type OutputRecorder, type OutputRecorderSettings } from './output-recorder.ts';

export const RUN_COMMAND_TASK = 'command.run';

/** A command waiting for the ones it runs after looks again this often, wake-ups aside. */
const PREREQUISITE_POLL_MS = 1_000;

interface Summary {
  command: string;
  status: string;
  exit_code: number | null;
}

const summary = (row: Pick<CommandRow, 'id' | 'status' | 'exit_code'>): Summary => ({ command: row.id, status: row.status, exit_code: row.exit_code });

const CANCELLED = 'The command was cancelled.';

/** Why the handler's signal was aborted, in words for the command's result. */
function interruption(signal: AbortSignal): string {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  if (reason.includes('cancel')) return CANCELLED;
  return 'The command was interrupted because Nimbus stopped or lost track of it.';
}

/**
 * A finished command's `result`: the end of its output, saying first when the start of the
 * output was cut from what is stored, then why it did not finish, if it did not.
 */
function resultOf(recorder: OutputRecorder, why: string | null): string {
  const tail = recorder.tail();
  const cut = recorder.cutChars();
  const shown = cut ? `[output cut: the first ${cut} characters were not kept; the chunks hold the rest]\n${tail}` : tail;
  if (why === null) return shown;
  return shown ? `${shown}${shown.endsWith('\n') ? '' : '\n'}${why}` : why;
}

const secondsSince = (iso: string | null) => (iso === null ? null : Math.max(0, (Date.now() - Date.parse(iso)) / 1000));

/**
 * `command.run`: runs one command on its server and records its output and outcome. A process
 * cannot be resumed, so a run that finds its command already `running` (the previous run was
 * interrupted by a crash or a shutdown) ends it as failed and never executes it twice.
 */
export function createCommandRunner(deps: { store: Store; events: EventService; notifier: Notifier; host: ComputeHost; recorder: OutputRecorderSettings }): TaskHandler {
  const { store, notifier, host } = deps;
  const { db } = store;

  const load = (id: string) => db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();

  async function finishWith(command: CommandRow, outcome: Outcome): Promise<Summary> {
    const row = await finishCommand(deps, command.id, outcome);
    return summary(row ?? { ...command, status: 'failed' });
  }

  /** Resolves once every command `command` runs after has finished, or never will (gone with its server, its task ended). */
  async function awaitPrerequisites(command: CommandRow, signal: AbortSignal): Promise<void> {
    const ids: string[] = JSON.parse(command.run_after);
    while (ids.length) {
      const wake = nextWakeUp(notifier, ['command_output'], PREREQUISITE_POLL_MS, signal);
      const rows = await db
        .selectFrom('commands')
        .leftJoin('tasks', 'tasks.id', 'commands.task_id')
        .select(['commands.status', 'tasks.status as task_status'])
        .where('commands.id', 'in', ids)
        .execute();
      // A prerequisite whose task ended without it (cancelled while pending) will never finish.
      if (rows.every((r) => FINISHED_STATUSES.has(r.status) || taskEndedWithout(r.task_status))) return;
      await wake;
      signal.throwIfAborted();
    }
  }

  async function run(context: TaskContext): Promise<Summary> {
    const id = String(context.input.command);
    const command = await load(id);
    // Deleted with its server before it ran: nothing left to do.
    if (!command) return { command: id, status: 'deleted', exit_code: null };
    if (FINISHED_STATUSES.has(command.status)) return summary(command);
    if (command.status === 'running') {
      return finishWith(command, {
        success: false,
        exitCode: null,
        result: 'The command was interrupted (Nimbus stopped or crashed while it ran) and was not run again: a process cannot be resumed.',
        elapsedTime: secondsSince(command.started_at),
      });
    }

    try {
      await awaitPrerequisites(command, context.signal);
    } catch (error) {
      // Cancelled while waiting: it never ran. Any other interruption leaves it queued for the next run.
      if (context.signal.aborted && interruption(context.signal) === CANCELLED) {
        await finishWith(command, { success: false, exitCode: null, result: 'The command was cancelled before it started.', elapsedTime: null });
      }
      throw error;
    }

    const startedAt = nowIso();
    const started = await db.updateTable('commands').set({ status: 'running', started_at: startedAt }).where('id', '=', id).where('status', '=', 'queued').executeTakeFirst();
    if (Number(started.numUpdatedRows) !== 1) return summary((await load(id)) ?? { ...command, status: 'failed' });

    const server = await db.selectFrom('servers').select('state').where('id', '=', command.server_id).executeTakeFirst();
    if (server?.state !== 'running') {
      const state = server?.state ?? 'deleted';
      return finishWith(command, { success: false, exitCode: null, result: `The server is ${state}; a command runs only on a running server.`, elapsedTime: 0 });
    }

    const recorder = createOutputRecorder(db, notifier, id, deps.recorder);
    const timeout = AbortSignal.timeout(command.timeout_seconds * 1000);
    const began = Date.now();
    let exitCode: number | null = null;
    let elapsedTime = 0;
    let why: string | null = null;
    let unexpected: unknown = null;
    try {
      const done = await host.servers.exec(command.server_id, {
        line: command.line,
        username: command.username,
        ...(command.groupname ? { groupname: command.groupname } : {}),
        env: JSON.parse(command.env),
        onOutput: recorder.write,
        signal: AbortSignal.any([context.signal, timeout]),
      });
      exitCode = done.exitCode;
      elapsedTime = done.elapsedMs / 1000;
      await recorder.close();
    } catch (error) {
      elapsedTime = (Date.now() - began) / 1000;
      await recorder.close().catch((failure) => (unexpected ??= failure));
      if (error instanceof ComputeRejected || error instanceof ComputeUnavailable) why = error.message;
      else if (!context.signal.aborted) {
        why = 'The command could not be run; the server log has the details.';
        unexpected = error;
      }
    }
    // Killed because the task was cancelled or Nimbus stopped: whatever code it exited with, it did not finish.
    if (context.signal.aborted) why = interruption(context.signal);
    else if (timeout.aborted) why = `The command was stopped after its timeout of ${command.timeout_seconds} seconds.`;
    const result = resultOf(recorder, why);
    const finished = await finishWith(command, { success: why === null && exitCode === 0, exitCode, result, elapsedTime });
    // Its server was deleted (terminated) while it ran, and its record with it: nothing to report.
    if (!(await load(id))) return { command: id, status: 'deleted', exit_code: null };
    // Recorded as failed for the user; the task fails too, so the error reaches the server log.
    if (unexpected !== null) throw unexpected;
    // The worker ends the task as the interruption says (cancelled, or back to the queue on shutdown).
    context.signal.throwIfAborted();
    return finished;
  }

  return {
    // Commands run side by side, even on one server: each locks only itself.
    resourcesOf: (input) => [{ type: 'command', id: String(input.command) }],
    mayCancel: true,
    run,
  };
}
