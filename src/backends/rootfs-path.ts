import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { readUntrusted, UntrustedFileRefused } from './untrusted-files.ts';

const MAX_SYMLINK_HOPS = 40;

function components(relative: string): string[] {
  return relative.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * The host path of `inside` (an absolute path in a server's or image's root filesystem),
 * resolving symlinks as the server would see them: an absolute link target or `..` never
 * leaves `root`. Image content is untrusted; following its links on the host could reach
 * (and delete or leak) the host's own files.
 */
export async function resolveInRoot(root: string, inside: string, options: { followLast: boolean }): Promise<string> {
  let resolved: string[] = [];
  let pending = components(inside);
  let hops = 0;
  while (pending.length > 0) {
    const [part, ...rest] = pending;
    pending = rest;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    const isLast = pending.length === 0;
    let isLink = false;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (isLink && (!isLast || options.followLast)) {
      if (++hops > MAX_SYMLINK_HOPS) throw new Error(`too many symbolic links resolving ${inside}`);
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved = [];
      pending = [...components(target), ...pending];
      continue;
    }
    resolved.push(part);
  }
  return path.join(root, ...resolved);
}

/** Largest file of a server's own the host reads (/etc/passwd, /etc/group, os-release). */
export const ROOTFS_FILE_LIMIT = 1024 * 1024;

/**
 * Reads a text file of a root filesystem (see `resolveInRoot`), or undefined when it does not
 * exist. Anything else than a regular file of at most `ROOTFS_FILE_LIMIT` bytes (a FIFO, a
 * device, a symlink swapped in after resolution, a huge file) is refused with
 * `UntrustedFileRefused` and never read (see `readUntrusted`).
 */
export async function readFileInRoot(root: string, inside: string): Promise<string | undefined> {
  const file = await resolveInRoot(root, inside, { followLast: true });
  try {
    return (await readUntrusted(file, ROOTFS_FILE_LIMIT)).toString('utf8');
  } catch (error) {
    if (error instanceof UntrustedFileRefused && error.reason === 'missing') return undefined;
    throw error;
  }
}
