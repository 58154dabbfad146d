import type { Logger } from 'pino';
import type { AppHost } from '../../backends/app-host.ts';
import type { Store } from '../../store/database.ts';
import type { AppContainerRow } from '../../store/schema.ts';
import { isoAfter, nowIso } from '../clock.ts';
import type { EventService } from '../events/event-service.ts';
import { appEvent } from './context.ts';
import type { LogService } from './log-service.ts';
import type { Processes } from './processes.ts';

export interface SupervisorSettings {
  hostId: string;
  /** How often processes are looked at (output read, crashes found). */
  intervalMs: number;
}

/** 1 s, 2 s, 4 s... up to a minute between restarts of a process that keeps crashing. */
export const restartDelayMs = (restarts: number) => Math.min(60_000, 1000 * 2 ** Math.min(restarts, 6));

/**
 * Watches this host's app processes: copies their output into the app's logs, tagged
 * `<type>-<index>`; finds a process that died (`crash` event) and starts it again after a
 * backoff. After a restart of Nimbus it is also the reconciliation: processes still running are
 * routed to as they are (the routes are in the database), dead ones are restarted.
 */
export function createSupervisor(deps: { store: Store; host: AppHost; processes: Processes; logs: LogService; events: EventService; settings: SupervisorSettings; logger: Logger }) {
  const { store, host, processes, logs, events, settings, logger } = deps;
  const { db } = store;
  const offsets = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  async function pump(row: AppContainerRow): Promise<void> {
    const { text, offset } = await host.processes.readOutput(row.id, offsets.get(row.id) ?? 0);
    offsets.set(row.id, offset);
    const lines = text.split('\n').filter((line) => line !== '');
    await logs.append(row.app_id, lines.map((line) => ({ source: `${row.process_type}-${row.process_index}`, line })));
  }

  async function crashed(row: AppContainerRow): Promise<void> {
    const restarts = row.restarts + 1;
    const moved = await db.updateTable('app_containers').set({ state: 'crashed', restarts, restart_at: isoAfter(restartDelayMs(row.restarts)) }).where('id', '=', row.id).where('state', '=', 'up').executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return;
    const app = await db.selectFrom('apps').selectAll().where('id', '=', row.app_id).executeTakeFirst();
    if (!app) return;
    const name = `${row.process_type}-${row.process_index}`;
    await events.record(db, appEvent(app, 'crash', null, { container: name, restarts, restart_in_ms: restartDelayMs(row.restarts) }));
    await logs.append(app.id, [{ source: 'platform', line: `${name} exited; restarting it in ${restartDelayMs(row.restarts) / 1000} s (restart ${restarts})` }]);
  }

  async function restart(row: AppContainerRow): Promise<void> {
    const app = await db.selectFrom('apps').selectAll().where('id', '=', row.app_id).executeTakeFirst();
    const release = await db.selectFrom('app_releases').selectAll().where('id', '=', row.release_id).executeTakeFirst();
    if (!app || !release || app.status === 'deleting') return;
    try {
      await processes.startContainer(app, release, row);
      await db.updateTable('app_containers').set({ state: 'up', restart_at: null }).where('id', '=', row.id).where('state', '=', 'crashed').execute();
      await events.record(db, appEvent(app, 'restart_process', null, { container: `${row.process_type}-${row.process_index}`, restarts: row.restarts }));
    } catch (error) {
      await db.updateTable('app_containers').set({ restarts: row.restarts + 1, restart_at: isoAfter(restartDelayMs(row.restarts)) }).where('id', '=', row.id).execute();
      logger.warn({ err: error, container: row.id }, 'an app process did not restart');
    }
  }

  async function tick(): Promise<void> {
    const rows = await db.selectFrom('app_containers').selectAll().where('host', '=', settings.hostId).execute();
    const now = nowIso();
    for (const row of rows) {
      try {
        if (row.state === 'up' || row.state === 'starting' || row.state === 'stopping') await pump(row);
        if (row.state === 'up' && !(await host.processes.running(row.id))) await crashed(row);
        else if (row.state === 'crashed' && row.restart_at !== null && row.restart_at <= now) await restart(row);
      } catch (error) {
        logger.warn({ err: error, container: row.id }, 'watching an app process failed');
      }
    }
    for (const id of offsets.keys()) if (!rows.some((row) => row.id === id)) offsets.delete(id);
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().catch((error: unknown) => logger.warn({ err: error }, 'the app supervisor failed')).finally(schedule);
    }, settings.intervalMs);
  }

  return {
    /** Output already in a running process's file is taken from its end: it was read before the restart. */
    async start(): Promise<void> {
      const rows = await db.selectFrom('app_containers').selectAll().where('host', '=', settings.hostId).execute();
      for (const row of rows) {
        let offset = 0;
        for (let read = await host.processes.readOutput(row.id, 0).catch(() => ({ text: '', offset: 0 })); read.text !== ''; read = await host.processes.readOutput(row.id, offset)) offset = read.offset;
        offsets.set(row.id, offset);
      }
      schedule();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
