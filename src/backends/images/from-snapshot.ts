import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../command.ts';
import { ComputeRejected } from '../compute-host.ts';
import { exists, removeSpecialFiles } from '../files.ts';
import { mountExt4File, mountOverlay, unmount } from '../mounts.ts';

/** The root volume's directory holding the server's writable layer (see servers). */
export const ROOT_VOLUME_UPPER = 'upper';

/**
 * Fills `rootfs` with a snapshot's files. A root volume's snapshot holds only the server's
 * writable layer, so it is merged over its base image by a read-only overlay (which honours
 * the layer's whiteouts and opaque directories) and the merged view is copied.
 */
export async function rootfsFromSnapshot(snapshotFile: string, baseRootfs: string | undefined, rootfs: string, scratch: string): Promise<void> {
  if (!(await exists(snapshotFile))) throw new ComputeRejected('the snapshot is not on this host', 'snapshot');
  const snapshotMount = path.join(scratch, 'snapshot');
  const merged = path.join(scratch, 'merged');
  try {
    await mountExt4File(snapshotFile, snapshotMount, { readOnly: true });
    let source = snapshotMount;
    if (baseRootfs) {
      const upper = path.join(snapshotMount, ROOT_VOLUME_UPPER);
      source = baseRootfs;
      if (await exists(upper)) {
        await mountOverlay(merged, { lowers: [upper, baseRootfs] });
        source = merged;
      }
    }
    await mkdir(rootfs, { recursive: true });
    await run('cp', ['-a', '--sparse=always', `${source}/.`, rootfs]);
    if (!baseRootfs) await rm(path.join(rootfs, 'lost+found'), { recursive: true, force: true });
    // The server's root could mknod anything; an image holds no device nodes.
    await removeSpecialFiles(rootfs);
  } finally {
    // The overlay sits on the snapshot mount: it goes first.
    await unmount(merged);
    await unmount(snapshotMount);
  }
}
