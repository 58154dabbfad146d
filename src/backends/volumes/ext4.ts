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
  // The file is sparse, so its unwritten inode tables and journal already read as zeros: lazy
  // initialisation is safe and keeps a new volume from allocating the journal's 32 MiB at once.
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', file]);
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

const SUPERBLOCK_OFFSET = 1024;
const EXT4_MAGIC = 0xef53;
const INCOMPAT_64BIT = 0x80;

/**
 * Bytes the filesystem in `file` spans, read from its superblock (the layout of the kernel's
 * `struct ext4_super_block`): a read of one kilobyte where dumpe2fs would cost a process.
 */
async function filesystemBytes(file: string): Promise<number> {
  const handle = await open(file, 'r');
  const superblock = Buffer.alloc(1024);
  try {
    await handle.read(superblock, 0, superblock.length, SUPERBLOCK_OFFSET);
  } finally {
    await handle.close();
  }
  if (superblock.readUInt16LE(0x38) !== EXT4_MAGIC) throw new Error(`${file} holds no ext4 filesystem`);
  const blockSize = 1024 * 2 ** superblock.readUInt32LE(0x18);
  const wide = (superblock.readUInt32LE(0x60) & INCOMPAT_64BIT) !== 0;
  const blocks = superblock.readUInt32LE(0x04) + (wide ? superblock.readUInt32LE(0x150) * 2 ** 32 : 0);
  return blocks * blockSize;
}

/** Finishes a growth that could not happen while mounted; run before mounting. */
export async function growIfShort(file: string): Promise<void> {
  if ((await filesystemBytes(file)) < (await stat(file)).size) await growUnmountedExt4(file);
}
