import path from 'node:path';
import { ComputeRejected, type ServerSpec } from '../compute-host.ts';
import { checkAddressing } from '../network/ipv4.ts';
import { assertId } from '../names.ts';

export const MIN_MEMORY_BYTES = 4 * 1024 * 1024;
const HOSTNAME = /^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** Refuses a spec the host cannot honour, before anything is touched. */
export function checkServerSpec(spec: ServerSpec): void {
  assertId(spec.id, 'server');
  assertId(spec.imageId, 'image');
  assertId(spec.rootVolumeId, 'volume');
  assertId(spec.network.id, 'network');
  if (!HOSTNAME.test(spec.hostname)) throw new ComputeRejected(`hostname ${JSON.stringify(spec.hostname)} is not a valid host name`, 'hostname');
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1) throw new ComputeRejected('vcpus must be a whole number of at least 1', 'vcpus');
  if (!Number.isSafeInteger(spec.memoryBytes) || spec.memoryBytes < MIN_MEMORY_BYTES) {
    throw new ComputeRejected(`memory must be at least ${MIN_MEMORY_BYTES} bytes`, 'memory');
  }
  if (!Number.isSafeInteger(spec.idBlock) || spec.idBlock < 0) throw new ComputeRejected('idBlock must be a whole number of at least 0', 'id_range');
  checkAddressing(spec.network, spec.address);
  const seenVolumes = new Set([spec.rootVolumeId]);
  const seenPaths = new Set<string>();
  for (const volume of spec.volumes) {
    assertId(volume.volumeId, 'volume');
    if (seenVolumes.has(volume.volumeId)) throw new ComputeRejected(`volume ${volume.volumeId} is mounted twice`, 'volumes');
    seenVolumes.add(volume.volumeId);
    const mountPath = volume.mountPath;
    if (!mountPath.startsWith('/') || path.posix.normalize(mountPath) !== mountPath || mountPath === '/' || mountPath.endsWith('/') || mountPath.split('/').includes('..')) {
      throw new ComputeRejected(`mount path ${JSON.stringify(mountPath)} must be a normalized absolute path other than /`, 'mount_path');
    }
    if (seenPaths.has(mountPath)) throw new ComputeRejected(`two volumes are mounted at ${mountPath}`, 'mount_path');
    seenPaths.add(mountPath);
  }
}
