import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Files a tenant controls (a server's /etc/passwd, an uploaded image's index.json) are opened
 * by the host without following a final symbolic link and without blocking: a FIFO would
 * otherwise hold one of Node's few thread-pool threads for ever (stalling every file operation
 * and password hash of the process), and a device node could be anything. Only a regular file
 * under `limit` bytes is read.
 */
const UNTRUSTED_OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Why an untrusted file was not read; `reason` names no host path and holds none of its content. */
export class UntrustedFileRefused extends Error {
  constructor(readonly reason: 'missing' | 'symlink' | 'not_regular' | 'too_large') {
    super(
      {
        missing: 'does not exist',
        symlink: 'is a symbolic link',
        not_regular: 'is not a regular file',
        too_large: 'is too large',
      }[reason],
    );
  }
}

/** Opens an untrusted regular file (see above); the caller closes the handle. */
export async function openUntrusted(file: string, limit: number) {
  let handle;
  try {
    handle = await open(file, UNTRUSTED_OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UntrustedFileRefused('missing');
    if (code === 'ELOOP') throw new UntrustedFileRefused('symlink');
    // EACCES: a device node on a nodev mount; ENXIO: a socket or a FIFO without a writer.
    if (code === 'EACCES' || code === 'ENXIO' || code === 'EISDIR') throw new UntrustedFileRefused('not_regular');
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UntrustedFileRefused('not_regular');
    if (stat.size > limit) throw new UntrustedFileRefused('too_large');
    return { handle, size: stat.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The bytes of an untrusted regular file of at most `limit` bytes; never more than `limit` are read, even if it grows. */
export async function readUntrusted(file: string, limit: number): Promise<Buffer> {
  const { handle, size } = await openUntrusted(file, limit);
  try {
    const buffer = Buffer.alloc(Math.min(size, limit));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
