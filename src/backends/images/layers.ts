import { lchown, lstat, lutimes, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { ComputeRejected } from '../compute-host.ts';
import { resolveInRoot } from '../rootfs-path.ts';

/*
 * Filesystem layers are tar archives (plain, gzip or zstd: the tar package detects which).
 * OCI whiteouts: `dir/.wh.name` deletes `dir/name` from the layers below, `dir/.wh..wh..opq`
 * empties `dir` of what the layers below put there. Both apply to the lower layers only, so
 * they are done before this layer's own files are extracted.
 */

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** An archive path as a clean relative path, or undefined when it would climb out with `..`. */
export function normalizeEntryPath(entryPath: string): string | undefined {
  const parts = entryPath.split('/').filter((part) => part !== '' && part !== '.');
  return parts.includes('..') ? undefined : parts.join('/');
}

function isWhiteout(entryPath: string): boolean {
  return path.posix.basename(entryPath).startsWith(WHITEOUT_PREFIX);
}

/** Tar's own errors (not a tar, truncated, corrupt gzip) are the uploader's to fix. */
export function rejectUnreadable(archive: string, error: unknown): never {
  if (error instanceof ComputeRejected) throw error;
  const code = String((error as { code?: unknown }).code ?? '');
  if (code.startsWith('TAR_') || code.startsWith('Z_') || /zlib|zstd|gzip|tar|archive/i.test(String((error as Error).message))) {
    throw new ComputeRejected(`${path.basename(archive)} is not a readable tar archive: ${(error as Error).message}`, 'archive');
  }
  throw error;
}

interface DeferredSymlink {
  path: string;
  target: string;
  uid: number;
  gid: number;
  mtime?: Date;
}

/**
 * The tar package rewrites absolute symlink targets (`/bin/busybox` -> `bin/busybox`), which
 * breaks a root filesystem, so links are made here, after the files, with their targets as they
 * are; their parent directory is resolved inside the root so a link never lands outside it.
 */
async function createSymlink(rootfs: string, link: DeferredSymlink): Promise<void> {
  const parent = await resolveInRoot(rootfs, path.posix.dirname(link.path), { followLast: true });
  const file = path.join(parent, path.posix.basename(link.path));
  await mkdir(parent, { recursive: true });
  await rm(file, { recursive: true, force: true });
  await symlink(link.target, file);
  await lchown(file, link.uid, link.gid);
  if (link.mtime) await lutimes(file, link.mtime, link.mtime);
}

const SKIPPED_TYPES = new Set(['CharacterDevice', 'BlockDevice', 'FIFO']);
/** Warnings that are not the archive's fault: a stripped leading `/`, a skipped device node. */
const HARMLESS_WARNINGS = new Set(['TAR_ENTRY_INFO', 'TAR_ENTRY_UNSUPPORTED']);

/**
 * Extracts an archive into `into` and returns how many entries it had. Device nodes are
 * skipped (runc gives every server its own /dev); an entry trying to leave `into` refuses the
 * whole archive rather than quietly dropping part of it.
 */
export async function extractArchive(archive: string, into: string, options: { skipWhiteouts?: boolean } = {}): Promise<number> {
  let entries = 0;
  const problems: string[] = [];
  const symlinks: DeferredSymlink[] = [];
  try {
    await tar.x({
      file: archive,
      cwd: into,
      preserveOwner: true,
      chmod: true,
      processUmask: 0,
      onwarn: (code, message) => {
        if (!HARMLESS_WARNINGS.has(code)) problems.push(message);
      },
      filter: (entryPath, entry) => {
        entries++;
        const clean = normalizeEntryPath(entryPath);
        const read = entry as tar.ReadEntry;
        if (clean === undefined) {
          problems.push(`${JSON.stringify(entryPath)} points outside the image`);
          return false;
        }
        if (options.skipWhiteouts && isWhiteout(clean)) return false;
        if (read.type === 'SymbolicLink') {
          symlinks.push({ path: clean, target: read.linkpath ?? '', uid: read.uid ?? 0, gid: read.gid ?? 0, mtime: read.mtime });
          return false;
        }
        return !SKIPPED_TYPES.has(read.type);
      },
    });
  } catch (error) {
    rejectUnreadable(archive, error);
  }
  if (problems.length > 0) {
    throw new ComputeRejected(`${path.basename(archive)} has entries that cannot be extracted safely: ${problems.slice(0, 3).join('; ')}`, 'archive');
  }
  for (const link of symlinks) await createSymlink(into, link);
  return entries;
}

async function listWhiteouts(archive: string): Promise<string[]> {
  const whiteouts: string[] = [];
  try {
    await tar.t({
      file: archive,
      onReadEntry: (entry) => {
        const clean = normalizeEntryPath(entry.path);
        if (clean !== undefined && isWhiteout(clean)) whiteouts.push(clean);
      },
    });
  } catch (error) {
    rejectUnreadable(archive, error);
  }
  return whiteouts;
}

async function removeInRoot(rootfs: string, inside: string): Promise<void> {
  // The last component itself is removed, never what a link there points to.
  await rm(await resolveInRoot(rootfs, inside, { followLast: false }), { recursive: true, force: true });
}

async function emptyDirectoryInRoot(rootfs: string, inside: string): Promise<void> {
  const dir = await resolveInRoot(rootfs, inside, { followLast: false });
  let stat;
  try {
    stat = await lstat(dir);
  } catch {
    return;
  }
  if (!stat.isDirectory()) {
    await rm(dir, { force: true });
    return;
  }
  for (const name of await readdir(dir)) await rm(path.join(dir, name), { recursive: true, force: true });
}

/** Applies one layer over `rootfs`: its whiteouts first, then its files. */
export async function applyLayer(rootfs: string, layer: string): Promise<void> {
  for (const whiteout of await listWhiteouts(layer)) {
    const dir = path.posix.dirname(whiteout);
    const name = path.posix.basename(whiteout);
    if (name === OPAQUE_MARKER) await emptyDirectoryInRoot(rootfs, dir);
    else await removeInRoot(rootfs, path.posix.join(dir, name.slice(WHITEOUT_PREFIX.length)));
  }
  await extractArchive(layer, rootfs, { skipWhiteouts: true });
}
