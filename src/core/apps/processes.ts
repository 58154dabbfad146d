import type { AppHost } from '../../backends/app-host.ts';
import type { AppContainerRow, AppReleaseRow, AppRow } from '../../store/schema.ts';
import { newId, nowIso } from '../clock.ts';
import { asDomainError, retryOnUniqueViolation } from '../compute/context.ts';
import type { ComputeSettings } from '../compute/context.ts';
import { allocateAddress, ensureNetwork, toNetworkSpec } from '../compute/networks.ts';
import { Conflict } from '../errors.ts';
import type { Store } from '../../store/database.ts';
import { waitForHealthy } from './health.ts';
import { SIZES, WEB_PORT } from './plans.ts';

/** A deployment or a scale whose new processes did not come up: the old ones keep serving. */
export class RolloutFailed extends Conflict {
  constructor(message: string, readonly timedOut: boolean) {
    super(message, 'rollout_failed');
  }
}

export interface ProcessSettings {
  /** How long a new web process gets to listen on its port. */
  healthTimeoutMs: number;
  /** Between routing to the new processes and stopping the old ones: the routers see the change. */
  drainMs: number;
  stopTimeoutMs: number;
}

export type Processes = ReturnType<typeof appProcesses>;

/** Starting and stopping an app's containers, recorded in `app_containers` (what the router routes to). */
export function appProcesses(deps: { store: Store; host: AppHost; compute: ComputeSettings; settings: ProcessSettings }) {
  const { store, host, compute, settings } = deps;
  const { db } = store;

  const envOf = (app: AppRow, release: AppReleaseRow, row: Pick<AppContainerRow, 'process_type' | 'process_index' | 'port'>): Record<string, string> => ({
    ...(JSON.parse(release.env) as Record<string, string>),
    PORT: String(row.port),
    APP: app.name,
    CONTAINER: `${row.process_type}-${row.process_index}`,
    CONTAINER_VERSION: `v${release.version}`,
  });

  /** Starts a recorded container on the host (again, after a crash). */
  async function startContainer(app: AppRow, release: AppReleaseRow, row: AppContainerRow): Promise<void> {
    const network = await db.selectFrom('networks').selectAll().where('id', '=', row.network_id).executeTakeFirstOrThrow();
    const command = (JSON.parse(release.procfile) as Record<string, string>)[row.process_type];
    if (!command) throw new Conflict(`Release v${release.version} has no "${row.process_type}" process.`, 'no_such_process');
    const size = SIZES[row.size]!;
    await host.processes.start({ id: row.id, slugId: release.slug_id, slugIsRootfs: release.image_id !== null, command, env: envOf(app, release, row), limits: size, network: toNetworkSpec(network), address: row.address });
  }

  /** Records and starts `amount` containers of a type; they are `starting` until `markUp`. */
  async function launch(app: AppRow, release: AppReleaseRow, processType: string, amount: number, size: string): Promise<AppContainerRow[]> {
    const rows: AppContainerRow[] = [];
    for (let index = 1; index <= amount; index++) {
      const row = await retryOnUniqueViolation(() =>
        db.transaction().execute(async (trx) => {
          const network = await ensureNetwork(trx, app.organization_id, compute.networkRange);
          const record: AppContainerRow = {
            id: newId(),
            app_id: app.id,
            release_id: release.id,
            process_type: processType,
            process_index: index,
            size,
            memory_bytes: SIZES[size]!.memoryBytes,
            network_id: network.id,
            address: await allocateAddress(trx, network),
            port: WEB_PORT,
            state: 'starting',
            restarts: 0,
            restart_at: null,
            host: compute.hostId,
            created_at: nowIso(),
          };
          await trx.insertInto('app_containers').values(record).execute();
          return record;
        }),
      );
      rows.push(row);
      try {
        await startContainer(app, release, row);
      } catch (error) {
        throw new RolloutFailed(`${processType}-${index} did not start: ${asDomainError(error).message}`, false);
      }
    }
    return rows;
  }

  /** The end of a process's output, for the reason it failed. */
  async function outputTail(id: string): Promise<string> {
    const { text } = await host.processes.readOutput(id, 0).catch(() => ({ text: '' }));
    const tail = text.trim().split('\n').slice(-5).join('\n').slice(-1000);
    return tail ? `; its output ends with:\n${tail}` : '.';
  }

  /** Stops containers and forgets them; the router stops routing to them first. */
  async function retire(rows: AppContainerRow[]): Promise<void> {
    if (!rows.length) return;
    await db.updateTable('app_containers').set({ state: 'stopping' }).where('id', 'in', rows.map((r) => r.id)).execute();
    await new Promise((resolve) => setTimeout(resolve, settings.drainMs));
    await Promise.all(rows.map((row) => host.processes.stop(row.id, { timeoutMs: settings.stopTimeoutMs })));
    await db.deleteFrom('app_containers').where('id', 'in', rows.map((r) => r.id)).execute();
  }

  /**
   * Replaces the app's containers by the formation of `release`, without downtime: the new
   * ones start, web ones must accept connections on their port (or answer the app's health
   * check path), then they receive traffic, and
   * only then are the old ones stopped. When a new one fails, the new ones go and the old ones
   * stay. `only` limits the change to some process types (a scale or restart of those).
   */
  async function rollOut(app: AppRow, release: AppReleaseRow, formation: { process_type: string; amount: number; size: string }[], only?: ReadonlySet<string>, signal?: AbortSignal): Promise<void> {
    const old = (await db.selectFrom('app_containers').selectAll().where('app_id', '=', app.id).execute()).filter((row) => !only || only.has(row.process_type));
    const started: AppContainerRow[] = [];
    try {
      for (const entry of formation) {
        if (entry.amount > 0 && (!only || only.has(entry.process_type))) started.push(...(await launch(app, release, entry.process_type, entry.amount, entry.size)));
      }
      for (const row of started.filter((r) => r.process_type === 'web')) {
        if (!(await waitForHealthy(row.address, row.port, { path: app.health_check_path, timeoutMs: settings.healthTimeoutMs, signal }))) {
          const check = app.health_check_path ? `answer GET ${app.health_check_path} on PORT ${row.port} with 2xx or 3xx` : `listen on PORT ${row.port}`;
          throw new RolloutFailed(`web-${row.process_index} did not ${check} within ${Math.round(settings.healthTimeoutMs / 1000)} s${await outputTail(row.id)}`, true);
        }
      }
      for (const row of started) {
        if (row.process_type !== 'web' && !(await host.processes.running(row.id))) throw new RolloutFailed(`${row.process_type}-${row.process_index} exited at once${await outputTail(row.id)}`, false);
      }
    } catch (error) {
      await retire(started).catch(() => undefined);
      throw error;
    }
    if (started.length) await db.updateTable('app_containers').set({ state: 'up' }).where('id', 'in', started.map((r) => r.id)).execute();
    // The routers read their routes every moment: the new web processes are served once this ends.
    if (started.some((row) => row.process_type === 'web')) await new Promise((resolve) => setTimeout(resolve, settings.drainMs));
    await retire(old);
  }

  /** Stops every container of the app (delete). */
  async function stopAll(appId: string): Promise<void> {
    await retire(await db.selectFrom('app_containers').selectAll().where('app_id', '=', appId).execute());
  }

  return { rollOut, stopAll, startContainer, retire };
}
