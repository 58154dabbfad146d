import { open } from 'node:fs/promises';
import { run } from '../command.ts';

/** Smallest volume: ext4 with a journal needs a few MiB to be useful at all. */
export const MIN_VOLUME_BYTES = 8 * 1024 * 1024;

/** Sets a file's length without writing data, so the file stays sparse. */
export async function setFileLength(file: string, sizeBytes: number): Promise<void> {
  const handle = await open(file, 'a');
  try {
    await handle.truncate(sizeBytes);
  } finally {
    await handle.close();
  }
}

/**
 * A sparse file holding an empty ext4 filesystem. No blocks are reserved for root (`-m 0`):
 * a volume's size is what its user gets.
 */
export async function makeExt4File(file: string, sizeBytes: number): Promise<void> {
  await setFileLength(file, sizeBytes);
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', file]);
}

/** Grows an unmounted filesystem to fill its (already longer) file. */
export async function growUnmountedExt4(file: string): Promise<void> {
  // resize2fs refuses a filesystem not checked since it was last mounted; 1 = errors fixed.
  await run('e2fsck', ['-f', '-p', file], { okCodes: [0, 1] });
  await run('resize2fs', [file]);
}

/** Grows a mounted filesystem online: the loop device learns the new length, then ext4 grows. */
export async function growMountedExt4(loopDevice: string): Promise<void> {
  await run('losetup', ['--set-capacity', loopDevice]);
  await run('resize2fs', [loopDevice]);
}
