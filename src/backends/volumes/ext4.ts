import { open, stat } from 'node:fs/promises';
import { CommandFailed, run } from '../command.ts';

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

/**
 * Grows a mounted filesystem online: the loop device learns the new length, then ext4 grows.
 * The kernel allows online growth only with CAP_SYS_RESOURCE; a host without it (some
 * sandboxes) gets `false`, and the growth is finished at the next mount (`growIfShort`).
 */
export async function growMountedExt4(loopDevice: string): Promise<boolean> {
  await run('losetup', ['--set-capacity', loopDevice]);
  try {
    await run('resize2fs', [loopDevice]);
    return true;
  } catch (error) {
    if (error instanceof CommandFailed && /Permission denied to resize/.test(error.stderr)) return false;
    throw error;
  }
}

/** Bytes the filesystem in `file` spans, from its superblock. */
async function filesystemBytes(file: string): Promise<number> {
  const { stdout } = await run('dumpe2fs', ['-h', file]);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(stdout)?.[1]);
  return field('Block count') * field('Block size');
}

/** Finishes a growth that could not happen while mounted; run before mounting. */
export async function growIfShort(file: string): Promise<void> {
  if ((await filesystemBytes(file)) < (await stat(file)).size) await growUnmountedExt4(file);
}
