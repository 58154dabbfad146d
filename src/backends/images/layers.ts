import { createReadStream } from 'node:fs';
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

/**
 * What one image import may unpack, over all its archives (the upload, then each OCI layer):
 * an archive of a few kilobytes can expand to gigabytes or to millions of files. Each archive
 * is surveyed first (read, nothing written: stopping it half-way leaves nothing behind) and
 * refused as soon as what it declares passes a limit; only then is it extracted and counted.
 */
export class ExtractionBudget {
  bytes = 0;
  entries = 0;
  /** `bytesLimit` says whose limit `maxBytes` is, for the refusal. */
  constructor(readonly maxBytes: number, readonly maxEntries: number, private readonly bytesLimit = 'the host\'s limit') {}

  /** Why `bytes` more in `entries` more files would pass a limit, or undefined. */
  exceededBy(bytes: number, entries: number): string | undefined {
    if (this.entries + entries > this.maxEntries) return `the image has more than ${this.maxEntries} files, the host's limit`;
    if (this.bytes + bytes > this.maxBytes) return `the image unpacks to more than ${this.maxBytes} bytes, ${this.bytesLimit}`;
    return undefined;
  }

  take(bytes: number, entries: number): void {
    this.bytes += bytes;
    this.entries += entries;
  }
}

/** Streams `archive` through a tar parser, settling when it is done; `stop` aborts it at once (the rest is not even read). */
function parseArchive(archive: string, parser: tar.Parser, label: string): { done: Promise<void>; stop(reason: string): void } {
  let stopped: ComputeRejected | undefined;
  const input = createReadStream(archive);
  const done = new Promise<void>((resolve, reject) => {
    const fail = (error: unknown) => reject(stopped ?? error);
    parser.on('error', fail);
    parser.on('end', () => (stopped ? reject(stopped) : resolve()));
    input.on('error', fail);
    input.pipe(parser as unknown as NodeJS.WritableStream);
  }).catch((error: unknown) => rejectUnreadable(label, error));
  return {
    done,
    stop(reason) {
      stopped ??= new ComputeRejected(`${label} cannot be imported: ${reason}`, 'archive');
      input.destroy();
      parser.abort(stopped);
    },
  };
}

/**
 * Reads an archive without writing anything: refuses it as soon as what it declares would not
 * fit the budget, and returns its whiteouts.
 */
async function surveyArchive(archive: string, label: string, budget: ExtractionBudget): Promise<string[]> {
  const whiteouts: string[] = [];
  let bytes = 0;
  let entries = 0;
  const lister = new tar.Parser({
    onReadEntry: (entry) => {
      bytes += entry.size ?? 0;
      entries++;
      const overBudget = budget.exceededBy(bytes, entries);
      if (overBudget) survey.stop(overBudget);
      const clean = normalizeEntryPath(entry.path);
      if (clean !== undefined && isWhiteout(clean)) whiteouts.push(clean);
      entry.resume();
    },
  });
  const survey = parseArchive(archive, lister, label);
  await survey.done;
  return whiteouts;
}

/**
 * Tar's own errors (not a tar, truncated, corrupt gzip) are the uploader's to fix; they are
 * named by the archive's label and their code, never a message that could hold a host path.
 */
export function rejectUnreadable(label: string, error: unknown): never {
  if (error instanceof ComputeRejected) throw error;
  const code = String((error as { code?: unknown }).code ?? '');
  if (code.startsWith('TAR_') || code.startsWith('Z_') || /zlib|zstd|gzip|tar|archive|header/i.test(String((error as Error).message))) {
    throw new ComputeRejected(`${label} is not a readable tar archive (${code || 'unrecognised format'})`, 'archive');
  }
  throw error;
}

/** What went wrong with one entry, in words naming only the entry (tar's messages hold host paths). */
function entryProblem(code: string, data: { entry?: { path?: string }; path?: string }): string {
  const name = JSON.stringify(String(data.entry?.path ?? data.path ?? '?').slice(0, 200));
  if (code === 'TAR_SYMLINK_ERROR') return `${name} would be written through a symbolic link`;
  if (code === 'TAR_ENTRY_ERROR') return `${name} could not be extracted (a link to a file not in the archive, or a path taken by another kind of file)`;
  return `${name} is not valid (${code})`;
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
 * Extracts an archive into `into` within `budget`. Device nodes are skipped (runc gives every
 * server its own /dev); an entry trying to leave `into` refuses the whole archive rather than
 * quietly dropping part of it. `label` names the archive in errors.
 */
export async function extractArchive(archive: string, into: string, budget: ExtractionBudget, options: { label: string }): Promise<void> {
  await surveyArchive(archive, options.label, budget);
  await unpackSurveyed(archive, into, budget, options);
}

/** Extracts an archive `surveyArchive` accepted, counting what it writes. */
async function unpackSurveyed(archive: string, into: string, budget: ExtractionBudget, options: { label: string; skipWhiteouts?: boolean }): Promise<void> {
  const problems: string[] = [];
  const symlinks: DeferredSymlink[] = [];
  const unpack = new tar.Unpack({
    cwd: into,
    preserveOwner: true,
    chmod: true,
    processUmask: 0,
    onwarn: (code, _message, data) => {
      if (!HARMLESS_WARNINGS.has(code)) problems.push(entryProblem(code, data as { entry?: { path?: string } }));
    },
    filter: (entryPath, entry) => {
      const read = entry as tar.ReadEntry;
      budget.take(read.size ?? 0, 1);
      const clean = normalizeEntryPath(entryPath);
      if (clean === undefined) {
        problems.push(`${JSON.stringify(entryPath.slice(0, 200))} points outside the image`);
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
  await parseArchive(archive, unpack, options.label).done;
  if (problems.length > 0) {
    throw new ComputeRejected(`${options.label} has entries that cannot be extracted safely: ${problems.slice(0, 3).join('; ')}`, 'archive');
  }
  for (const link of symlinks) await createSymlink(into, link);
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
export async function applyLayer(rootfs: string, layer: { file: string; label: string }, budget: ExtractionBudget): Promise<void> {
  for (const whiteout of await surveyArchive(layer.file, layer.label, budget)) {
    const dir = path.posix.dirname(whiteout);
    const name = path.posix.basename(whiteout);
    if (name === OPAQUE_MARKER) await emptyDirectoryInRoot(rootfs, dir);
    else await removeInRoot(rootfs, path.posix.join(dir, name.slice(WHITEOUT_PREFIX.length)));
  }
  await unpackSurveyed(layer.file, rootfs, budget, { label: layer.label, skipWhiteouts: true });
}
