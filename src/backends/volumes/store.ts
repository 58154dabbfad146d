import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { run } from '../command.ts';
import { ComputeRejected } from '../compute-host.ts';
import { exists } from '../files.ts';
import type { HostLayout } from '../layout.ts';
import { isMountPoint, loopDeviceOf, mountExt4File, unmount } from '../mounts.ts';
import { assertId } from '../names.ts';
import { SparePool, type SpareSettings } from '../spares.ts';
import { MIN_VOLUME_BYTES, growIfShort, growMountedExt4, growUnmountedExt4, makeExt4File, setFileLength } from './ext4.ts';

function assertSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < MIN_VOLUME_BYTES) {
    throw new ComputeRejected(`a volume needs a whole number of bytes, at least ${MIN_VOLUME_BYTES}`, 'size');
  }
}

/**
 * Volumes are sparse ext4 files (`volumes/<id>.img`), loop-mounted at `mounts/<id>` while their
 * server runs; snapshots are sparse copies (`snapshots/<id>.img`). New files are built beside
 * their final name and renamed in, so a file under its final name is always complete.
 *
 * An empty volume is, when one is ready, a spare formatted ahead of time at exactly its size
 * (`spares/volumes/<bytes>/`): never mounted before, so it holds nothing of anyone.
 */
export class VolumeStore {
  private readonly spares: SparePool;

  constructor(private readonly layout: HostLayout, options: SpareSettings = {}) {
    this.spares = new SparePool(layout.sparesOf('volumes'), (key, target) => makeExt4File(target, Number(key)), { perKey: options.spares ?? 0, foreground: options.foreground });
  }

  /** Stops making spares and deletes them. */
  close(): Promise<void> {
    return this.spares.close();
  }

  async create(volumeId: string, sizeBytes: number, fromSnapshotId?: string): Promise<void> {
    assertId(volumeId, 'volume');
    assertSize(sizeBytes);
    const file = this.layout.volumeFile(volumeId);
    if (await exists(file)) return;
    await mkdir(this.layout.volumes, { recursive: true });
    const partial = `${file}.partial`;
    await rm(partial, { force: true });
    try {
      if (fromSnapshotId === undefined) {
        if (!(await this.spares.take(String(sizeBytes), partial))) await makeExt4File(partial, sizeBytes);
      } else {
        await this.copyFromSnapshot(fromSnapshotId, partial, sizeBytes);
      }
      await rename(partial, file);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  private async copyFromSnapshot(snapshotId: string, partial: string, sizeBytes: number): Promise<void> {
    assertId(snapshotId, 'snapshot');
    const snapshot = this.layout.snapshotFile(snapshotId);
    if (!(await exists(snapshot))) throw new ComputeRejected(`snapshot ${snapshotId} is not on this host`, 'snapshot');
    const snapshotBytes = (await stat(snapshot)).size;
    if (sizeBytes < snapshotBytes) {
      throw new ComputeRejected(`a volume from this snapshot needs at least ${snapshotBytes} bytes`, 'size');
    }
    await run('cp', ['--sparse=always', snapshot, partial]);
    if (sizeBytes > snapshotBytes) {
      await setFileLength(partial, sizeBytes);
      await growUnmountedExt4(partial);
    }
  }

  /**
   * Grows the file and its filesystem; online when the volume is mounted (where the host allows
   * it, else at the server's next start). Shrinking is refused.
   */
  async resize(volumeId: string, sizeBytes: number): Promise<void> {
    assertSize(sizeBytes);
    const file = await this.requireFile(volumeId);
    const current = (await stat(file)).size;
    if (sizeBytes < current) throw new ComputeRejected(`volumes only grow: ${volumeId} has ${current} bytes`, 'size');
    // Even at the same length resize2fs runs: a retry after a crash between the two steps
    // finds a longer file with the old filesystem, and resize2fs then finishes the job.
    if (sizeBytes > current) await setFileLength(file, sizeBytes);
    const loop = (await isMountPoint(this.layout.volumeMount(volumeId))) ? await loopDeviceOf(file) : undefined;
    if (loop) await growMountedExt4(loop.name);
    else await growUnmountedExt4(file);
  }

  async remove(volumeId: string): Promise<void> {
    assertId(volumeId, 'volume');
    if (await isMountPoint(this.layout.volumeMount(volumeId))) {
      throw new ComputeRejected(`volume ${volumeId} is mounted by a running server`, 'volume');
    }
    const file = this.layout.volumeFile(volumeId);
    const loop = await loopDeviceOf(file);
    if (loop) await run('losetup', ['--detach', loop.name]);
    await rm(file, { force: true });
    await rm(`${file}.partial`, { force: true });
    await rmdir(this.layout.volumeMount(volumeId)).catch(() => undefined);
  }

  /**
   * Copies the volume. A mounted volume is frozen during the copy so the snapshot is a
   * consistent filesystem, not a torn one. Returns the snapshot's (apparent) size.
   */
  async snapshot(volumeId: string, snapshotId: string): Promise<{ sizeBytes: number }> {
    assertId(snapshotId, 'snapshot');
    const file = await this.requireFile(volumeId);
    const target = this.layout.snapshotFile(snapshotId);
    if (!(await exists(target))) {
      await mkdir(this.layout.snapshots, { recursive: true });
      const partial = `${target}.partial`;
      const mountPoint = this.layout.volumeMount(volumeId);
      const frozen = await isMountPoint(mountPoint);
      if (frozen) await run('fsfreeze', ['--freeze', mountPoint]);
      try {
        await run('cp', ['--sparse=always', file, partial]);
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      } finally {
        if (frozen) await run('fsfreeze', ['--unfreeze', mountPoint]);
      }
      await rename(partial, target);
    }
    return { sizeBytes: (await stat(target)).size };
  }

  async removeSnapshot(snapshotId: string): Promise<void> {
    assertId(snapshotId, 'snapshot');
    const file = this.layout.snapshotFile(snapshotId);
    await rm(file, { force: true });
    await rm(`${file}.partial`, { force: true });
  }

  /** Loop-mounts the volume at its host mount point (for its server) and returns that path. */
  async mount(volumeId: string): Promise<string> {
    const file = await this.requireFile(volumeId);
    const mountPoint = this.layout.volumeMount(volumeId);
    if (!(await isMountPoint(mountPoint))) await growIfShort(file);
    await mountExt4File(file, mountPoint);
    return mountPoint;
  }

  /** Unmounts the volume's host mount point; returns whether anything was mounted there. */
  async unmount(volumeId: string): Promise<boolean> {
    const mountPoint = this.layout.volumeMount(volumeId);
    const unmounted = await unmount(mountPoint);
    await rmdir(mountPoint).catch(() => undefined);
    return unmounted;
  }

  async requireFile(volumeId: string): Promise<string> {
    assertId(volumeId, 'volume');
    const file = this.layout.volumeFile(volumeId);
    if (!(await exists(file))) throw new ComputeRejected(`volume ${volumeId} is not on this host`, 'volume');
    return file;
  }

  /** Volume ids with a file here (complete or partial). */
  static idOfFile(name: string): string | undefined {
    return /^(.+)\.img(\.partial)?$/.exec(name)?.[1];
  }
}
