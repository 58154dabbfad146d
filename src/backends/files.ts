import { randomBytes } from 'node:crypto';
import { lstatSync, rmSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

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

/**
 * Calls `visit` for every entry under `dir` (never following a symlink), parents before
 * children. Entries are looked at with synchronous calls, a slice at a time between turns of
 * the event loop: through the thread pool each call cost several times the call itself (a
 * server's start gives its copy of the image, a few hundred files, to its ids: 20-30 ms that
 * way, 5 ms this way). Directories are still listed asynchronously, as one may be huge.
 */
export async function walkTree(dir: string, visit: (full: string, stat: Stats) => void): Promise<void> {
  const pending = [dir];
  let inSlice = 0;
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const name of await readdir(current)) {
      const full = path.join(current, name);
      const stat = lstatSync(full);
      visit(full, stat);
      if (stat.isDirectory()) pending.push(full);
      if (++inSlice === WALK_SLICE) {
        inSlice = 0;
        await yieldToEventLoop();
      }
    }
  }
}

/** Entries a walk looks at before letting other work run: a millisecond or two. */
export const WALK_SLICE = 128;

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
  await walkTree(dir, (full, stat) => {
    if (!stat.isDirectory() && !stat.isFile() && !stat.isSymbolicLink()) rmSync(full, { force: true });
  });
}
