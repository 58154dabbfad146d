import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../command.ts';
import { listDir } from '../files.ts';
import type { HostLayout } from '../layout.ts';
import { loopDevices, readMounts, unmount } from '../mounts.ts';
import { CONTAINER_PREFIX } from '../names.ts';
import type { NetworkWiring } from '../network/wiring.ts';
import { VolumeStore } from '../volumes/store.ts';
import type { Runc } from './runtime.ts';
import type { ServerManager } from './servers.ts';

export interface KnownIds {
  servers: ReadonlySet<string>;
  volumes: ReadonlySet<string>;
  networks: ReadonlySet<string>;
}

/**
 * Releases what no known server, volume or network owns. Only things of this compute root are
 * looked at: containers in its runc state directory, bundles, mounts and loop files under it,
 * and the veths, netns and bridges its bundles and network records name. Another root's
 * things (another Nimbus, a parallel test) are never touched.
 */
export async function sweepHost(
  deps: { layout: HostLayout; runc: Runc; servers: ServerManager; network: NetworkWiring },
  known: KnownIds,
): Promise<string[]> {
  const { layout } = deps;
  const released: string[] = [];

  // Servers: containers first (a container can outlive its bundle only if someone removed it by hand).
  const unknownServers = new Set<string>();
  for (const container of await deps.runc.list()) {
    const serverId = container.id.startsWith(CONTAINER_PREFIX) ? container.id.slice(CONTAINER_PREFIX.length) : undefined;
    if (serverId && !known.servers.has(serverId)) unknownServers.add(serverId);
  }
  for (const serverId of await listDir(layout.servers)) {
    if (!known.servers.has(serverId)) unknownServers.add(serverId);
  }
  for (const serverId of unknownServers) {
    released.push(...(await deps.servers.release(serverId)));
    await deps.servers.removeBundle(serverId);
    released.push(`bundle ${serverId}`);
  }

  // Mounts under the root that nothing known owns: volumes of unknown ids, half-built images.
  for (const mount of (await readMounts()).reverse()) {
    if (!layout.owns(mount.mountPoint) || mount.mountPoint === layout.root) continue;
    const [area, owner] = path.relative(layout.root, mount.mountPoint).split(path.sep);
    const orphan =
      (area === 'mounts' && owner !== undefined && !known.volumes.has(owner)) ||
      (area === 'servers' && owner !== undefined && !known.servers.has(owner)) ||
      area === 'staging';
    if (orphan && (await unmount(mount.mountPoint))) released.push(`mount ${mount.mountPoint}`);
  }

  // Loop devices on our files that are mounted nowhere: left by a crash between attach and mount.
  const mountedDevices = new Set((await readMounts()).map((mount) => mount.device));
  for (const loop of await loopDevices()) {
    if (!layout.owns(loop.backingFile) || mountedDevices.has(loop.device)) continue;
    await run('losetup', ['--detach', loop.name]);
    released.push(`loop device ${loop.name} (${loop.backingFile})`);
  }

  for (const name of await listDir(layout.volumes)) {
    const volumeId = VolumeStore.idOfFile(name);
    if (volumeId !== undefined && known.volumes.has(volumeId) && !name.endsWith('.partial')) continue;
    await rm(path.join(layout.volumes, name), { force: true });
    released.push(`volume file ${name}`);
  }
  for (const name of await listDir(layout.snapshots)) {
    if (!name.endsWith('.partial')) continue;
    await rm(path.join(layout.snapshots, name), { force: true });
    released.push(`partial snapshot ${name}`);
  }
  for (const name of await listDir(layout.mounts)) {
    if (known.volumes.has(name)) continue;
    // Only an empty mount point goes; rmdir refuses anything else.
    await rmdir(path.join(layout.mounts, name)).catch(() => undefined);
  }
  for (const name of await listDir(layout.staging)) {
    await rm(path.join(layout.staging, name), { recursive: true, force: true });
    released.push(`staging ${name}`);
  }

  released.push(...(await deps.network.sweep(known.networks)));
  return released;
}
