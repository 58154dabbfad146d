import type { Store } from '../../store/database.ts';
import type { Notifier } from '../../store/notifier.ts';
import type { CommandRow } from '../../store/schema.ts';
import { nowIso } from '../clock.ts';
import type { EventService } from '../events/event-service.ts';
import { commandEvent } from './command-model.ts';

export interface Outcome {
  success: boolean;
  exitCode: number | null;
  result: string;
  /** Seconds; null when it never ran. */
  elapsedTime: number | null;
}

/**
 * Records how a command ended, with its `command.finished` event, unless it has ended already
 * (whoever comes second changes nothing); returns the command's row as it now is, read in the
 * same transaction, or undefined when it is gone (deleted with its server).
 */
export async function finishCommand(deps: { store: Store; events: EventService; notifier: Notifier }, id: string, outcome: Outcome): Promise<CommandRow | undefined> {
  return deps.store.db.transaction().execute(async (trx) => {
    const status = outcome.success ? 'success' : 'failed';
    const row = await trx
      .updateTable('commands')
      .set({ status, success: outcome.success ? 1 : 0, exit_code: outcome.exitCode, result: outcome.result, elapsed_time: outcome.elapsedTime, finished_at: nowIso() })
      .where('id', '=', id)
      .where('status', 'in', ['queued', 'running'])
      .returningAll()
      .executeTakeFirst();
    if (!row) return trx.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
    await deps.events.record(trx, commandEvent(row, 'finished', { status, success: outcome.success, exit_code: outcome.exitCode, elapsed_time: outcome.elapsedTime }));
    await deps.notifier.notify(trx, 'command_output');
    return row;
  });
}
