import type { ServerFacts, ServerSpec } from '../../backends/compute-host.ts';
import type { ServerRow, ServerState } from '../../store/schema.ts';
import { nowIso } from '../clock.ts';
import { Conflict } from '../errors.ts';
import { asNumber, computeEvent, onHost, type ComputeDeps, type Executor } from './context.ts';
import { toNetworkSpec } from './networks.ts';

/**
 * What task handlers share: reading a server's spec for the host, recording the states the host
 * reached, and preparing images. Every write here may run again after a crash.
 */
export function hostRecords({ store, events, host }: Pick<ComputeDeps, 'store' | 'events' | 'host'>) {
  const { db } = store;
  const preparing = new Map<string, Promise<void>>();

  async function findServer(executor: Executor, id: string): Promise<ServerRow | undefined> {
    return executor.selectFrom('servers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** What the host needs to create or start the server, as the store has it now (attached volumes included). */
  async function specOf(server: ServerRow): Promise<ServerSpec> {
    const network = await db.selectFrom('networks').selectAll().where('id', '=', server.network_id).executeTakeFirstOrThrow();
    const volumes = await db.selectFrom('volumes').select(['id', 'mount_path']).where('server_id', '=', server.id).where('volume_type', '=', 'data').orderBy('mount_path').execute();
    return {
      id: server.id,
      hostname: server.hostname,
      imageId: server.image_id,
      rootVolumeId: server.root_volume_id,
      vcpus: asNumber(server.vcpus),
      memoryBytes: asNumber(server.memory_bytes),
      network: toNetworkSpec(network),
      address: server.private_ip,
      volumes: volumes.map((v) => ({ volumeId: v.id, mountPath: v.mount_path ?? '/data' })),
      idBlock: asNumber(server.id_block),
    };
  }

  /** Records a server's new state (and an event when it changed). */
  async function setServerState(executor: Executor, serverId: string, state: ServerState, detail = '', eventType = 'state_changed'): Promise<void> {
    const current = await findServer(executor, serverId);
    if (!current) return;
    // Only a destroyed server (or one being destroyed) keeps when its destruction was asked for.
    const destroyedAt = state === 'destroyed' ? current.destroyed_at : null;
    await executor.updateTable('servers').set({ state, state_detail: detail, destroyed_at: destroyedAt, updated_at: nowIso() }).where('id', '=', serverId).execute();
    if (current.state !== state) await events.record(executor, computeEvent(current, 'server', eventType, null, { from: current.state, to: state, ...(detail ? { detail } : {}) }));
  }

  /** Makes an image usable: the built-in one is made on first use; any other must be ready already. */
  async function ensureImageReady(imageId: string): Promise<void> {
    const image = await db.selectFrom('images').selectAll().where('id', '=', imageId).executeTakeFirst();
    if (!image) throw new Conflict('The image was deleted.', 'image_not_found');
    if (image.status === 'ready') return;
    if (image.source !== 'builtin') throw new Conflict(`The image "${image.name}" is ${image.status}.`, 'image_not_ready');
    // One preparation at a time in this process; the host's own work is idempotent across processes.
    let running = preparing.get(imageId);
    if (!running) {
      running = (async () => {
        const artifact = await onHost(() => host.images.ensureBuiltin(imageId));
        await db.updateTable('images').set({ status: 'ready', size_bytes: artifact.sizeBytes, arch: artifact.arch, error: null, updated_at: nowIso() }).where('id', '=', imageId).execute();
      })().finally(() => preparing.delete(imageId));
      preparing.set(imageId, running);
    }
    await running;
  }

  /** Records the facts the host reported about a running server. */
  async function saveFacts(executor: Executor, serverId: string, facts: ServerFacts): Promise<void> {
    const now = nowIso();
    await executor.updateTable('servers').set({ facts: JSON.stringify(facts), facts_updated_at: now, updated_at: now }).where('id', '=', serverId).execute();
  }

  /** Refreshes the facts the host reports about a running server. */
  async function refreshFacts(serverId: string): Promise<void> {
    await saveFacts(db, serverId, await onHost(() => host.servers.facts(serverId)));
  }

  return { findServer, specOf, setServerState, ensureImageReady, saveFacts, refreshFacts };
}

export type HostRecords = ReturnType<typeof hostRecords>;
