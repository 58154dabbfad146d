import { chmodSync, lchownSync, lstatSync, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { ComputeRejected } from './compute-host.ts';
import { walkTree } from './files.ts';

/**
 * Servers run in their own user namespace: root inside a server is an unprivileged id on the
 * host. Each server gets `IDS_PER_SERVER` host ids (a whole 16-bit id space, what distributions
 * expect), the `index`-th block of the configured host range, so two servers never share an id.
 */
export const IDS_PER_SERVER = 65536;

/** The host ids servers' blocks are carved from, inclusive. */
export interface ServerIdRange {
  first: number;
  last: number;
}

const MAX_ID = 4_294_967_294; // (uid_t)-1 means "no change" to the kernel

export const DEFAULT_SERVER_ID_RANGE: ServerIdRange = { first: 100_000_000, last: MAX_ID };

/**
 * `first-last` (such as `100000000-4294967294`). It must start above 65535, so an id below that
 * is always one nobody has shifted (an image's file, a volume from before user namespaces).
 */
export function parseServerIdRange(text: string, setting = 'NIMBUS_SERVER_ID_RANGE'): ServerIdRange {
  const match = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  const range = match ? { first: Number(match[1]), last: Number(match[2]) } : undefined;
  if (!range || range.first < IDS_PER_SERVER || range.last > MAX_ID || serverBlocks(range) < 1) {
    throw new RangeError(`${setting}: "${text}" must be first-last host ids, from at least ${IDS_PER_SERVER} to at most ${MAX_ID}, holding at least ${IDS_PER_SERVER} ids`);
  }
  return range;
}

/** How many servers the range has ids for. */
export function serverBlocks(range: ServerIdRange): number {
  return Math.floor((range.last - range.first + 1) / IDS_PER_SERVER);
}

/** The host id that is root in the server holding block `index`. */
export function serverHostId(range: ServerIdRange, index: number): number {
  if (!Number.isSafeInteger(index) || index < 0 || index >= serverBlocks(range)) {
    throw new ComputeRejected(`id block ${index} is outside this host's server id range ${range.first}-${range.last}`, 'id_range');
  }
  return range.first + index * IDS_PER_SERVER;
}

const NOBODY = 65534;

/**
 * The id a host id stands for inside a server: an unshifted id (below 65536) is itself, an id
 * in any server's block is its offset there, anything else is nobody.
 */
export function idInsideServer(range: ServerIdRange, hostId: number): number {
  if (hostId < IDS_PER_SERVER) return hostId;
  if (hostId >= range.first && hostId <= range.last) return (hostId - range.first) % IDS_PER_SERVER;
  return NOBODY;
}

const SET_ID_BITS = 0o6000;

/**
 * Gives every file under `dir` (and `dir` itself) to the block starting at `base` (0: the
 * unshifted ids images are stored with), keeping each file's id inside the server. Idempotent,
 * so a walk cut short is simply done again; `dir` itself goes last, so its owner says the walk
 * finished. Run only while no server uses the tree: symlinks are never followed.
 */
export async function shiftOwnership(range: ServerIdRange, dir: string, base: number): Promise<void> {
  const shift = (file: string, stat: Stats) => {
    const uid = base + idInsideServer(range, stat.uid);
    const gid = base + idInsideServer(range, stat.gid);
    if (uid === stat.uid && gid === stat.gid) return;
    lchownSync(file, uid, gid);
    // chown clears setuid and setgid bits on files: a server's su keeps them.
    if (!stat.isSymbolicLink() && !stat.isDirectory() && (stat.mode & SET_ID_BITS) !== 0) chmodSync(file, stat.mode & 0o7777);
  };
  await walkTree(dir, shift);
  shift(dir, lstatSync(dir));
}

/** Whether the tree's top belongs to the block at `base` (the mark that `shiftOwnership` finished). */
export async function ownedByBlock(dir: string, base: number): Promise<boolean> {
  const { uid } = await lstat(dir);
  return uid >= base && uid < base + IDS_PER_SERVER;
}
