import type { Logger } from 'pino';
import type { ContainerState } from '../../backends/compute-host.ts';
import type { ServerState } from '../../store/schema.ts';
import { nowIso } from '../clock.ts';
import type { ComputeDeps } from './context.ts';
import type { HostRecords } from './host-records.ts';

/** What a server's record should say, given what the host reports; null when it is right already. */
function correctedState(recorded: ServerState, actual: ContainerState): { state: ServerState; detail: string } | null {
  if (actual === 'running') return recorded === 'running' ? null : { state: 'running', detail: 'Found running when Nimbus started.' };
  if (actual === 'stopped') return recorded === 'stopped' ? null : { state: 'stopped', detail: 'Found stopped when Nimbus started.' };
  return { state: 'stopped', detail: 'Its container was gone when Nimbus started; power it on to start it again.' };
}

/**
 * At start-up: records of this host's servers that claim to be running, starting or stopping are
 * corrected to what the host really has (an event `server.state_corrected` each; what a dead
 * container held is released), then the host releases everything that no record owns. Servers in transition with a task still queued are
 * left to their task: it runs again and finishes the change.
 */
export async function reconcileCompute({ store, host, settings }: Pick<ComputeDeps, 'store' | 'host' | 'settings'>, records: HostRecords, logger: Logger): Promise<{ corrected: number; released: string[] }> {
  const { db } = store;
  await host.ensureAvailable();
  const servers = await db.selectFrom('servers').selectAll().where('host', '=', settings.hostId).where('state', 'in', ['running', 'starting', 'stopping']).execute();
  let corrected = 0;
  for (const server of servers) {
    const pending = await db
      .selectFrom('task_resources')
      .innerJoin('tasks', 'tasks.id', 'task_resources.task_id')
      .select('tasks.id')
      .where('task_resources.resource_type', '=', 'server')
      .where('task_resources.resource_id', '=', server.id)
      .where('tasks.status', 'in', ['pending', 'running'])
      // A task due later (a destroyed server's expiry) finishes no change in progress.
      .where('tasks.run_after', '<=', nowIso())
      .executeTakeFirst();
    if (pending) continue;
    const correction = correctedState(server.state, await host.servers.state(server.id));
    if (!correction) continue;
    // A container that died while Nimbus was away still holds its mounts, loop device and veth;
    // a stopped server holds none (as after a poweroff), and stopping a dead container only releases.
    // Failing that is no reason to leave the other servers uncorrected: powering on releases again.
    if (correction.state === 'stopped') {
      await host.servers.stop(server.id, { timeoutMs: settings.stopTimeoutMs }).catch((error) => logger.warn({ err: error, server: server.id }, 'compute: could not release a dead container'));
    }
    await db.transaction().execute((trx) => records.setServerState(trx, server.id, correction.state, correction.detail, 'state_corrected'));
    corrected += 1;
  }
  const ids = async (table: 'servers' | 'volumes' | 'networks') => new Set((await db.selectFrom(table).select('id').execute()).map((r) => r.id));
  const released = await host.sweep({ servers: await ids('servers'), volumes: await ids('volumes'), networks: await ids('networks') });
  for (const line of released) logger.info({ released: line }, 'compute: released something no record owns');
  return { corrected, released };
}
