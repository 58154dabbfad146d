import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes a file so a reader never sees half of it: a sibling temporary, then rename. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, content);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The last `bytes` of a file, as text. */
export async function readTail(file: string, bytes: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Entries of a directory, or none when it does not exist yet. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** A fresh directory under `stagingRoot` for building something before renaming it into place. */
export async function makeStagingDir(stagingRoot: string, label: string): Promise<string> {
  const dir = path.join(stagingRoot, `${label}-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Calls `visit` for every entry under `dir` (never following a symlink), parents before children. */
export async function walkTree(dir: string, visit: (full: string, stat: Stats) => Promise<void> | void): Promise<void> {
  const names = await readdir(dir);
  const subdirs: string[] = [];
  // A batch of a directory's entries at a time: each file costs a round trip or two to the
  // thread pool, which then has several on the go; subdirectories follow, so at most one batch runs.
  for (let start = 0; start < names.length; start += WALK_BATCH) {
    await Promise.all(
      names.slice(start, start + WALK_BATCH).map(async (name) => {
        const full = path.join(dir, name);
        const stat = await lstat(full);
        await visit(full, stat);
        if (stat.isDirectory()) subdirs.push(full);
      }),
    );
  }
  for (const subdir of subdirs) await walkTree(subdir, visit);
}

const WALK_BATCH = 32;

/** Bytes used by a tree: regular files and symlinks by their length, hard links counted once. */
export async function treeSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  await walkTree(dir, (_full, stat) => {
    if (stat.isDirectory()) return;
    const key = `${stat.dev}:${stat.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    total += stat.size;
  });
  return total;
}

/**
 * Removes device nodes, FIFOs and sockets from a tree a tenant filled (an image made from a
 * server's files): images hold only directories, files and symlinks, as imported ones do.
 */
export async function removeSpecialFiles(dir: string): Promise<void> {
  await walkTree(dir, async (full, stat) => {
    if (!stat.isDirectory() && !stat.isFile() && !stat.isSymbolicLink()) await rm(full, { force: true });
  });
}
