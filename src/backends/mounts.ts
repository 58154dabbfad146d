import { mkdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandFailed, run } from './command.ts';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
  /** `major:minor` of the mounted device (a loop device for volumes). */
  device: string;
}

/** /proc/self/mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export async function readMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    return {
      device: fields[2],
      mountPoint: unescape(fields[4]),
      fsType: fields[separator + 1],
      source: unescape(fields[separator + 2]),
    };
  });
}

export async function isMountPoint(target: string): Promise<boolean> {
  return (await readMounts()).some((entry) => entry.mountPoint === target);
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const found = (await readMounts()).map((entry) => entry.mountPoint).filter((point) => point === dir || point.startsWith(prefix));
  return [...new Set(found)].sort((a, b) => b.length - a.length);
}

/**
 * Every filesystem a tenant writes to is mounted on the host `nodev`: a device node a server's
 * root made (it has CAP_MKNOD) opens nothing, neither for the host reading the server's files
 * nor inside the server. Volumes are also `nosuid` on the host (inside, setuid programs run
 * from the overlay, which has its own flags).
 */
const TENANT_MOUNT_FLAGS = ['nodev', 'nosuid'];

/**
 * Loop-mounts an ext4 file. util-linux marks the loop device autoclear, so unmounting releases
 * it. Already mounted there: nothing to do (a retried task).
 */
export async function mountExt4File(file: string, target: string, options: { readOnly?: boolean } = {}): Promise<void> {
  if (await isMountPoint(target)) return;
  await mkdir(target, { recursive: true });
  // noload: a read-only mount must not replay the journal of a file we only copy from.
  const flags = ['loop', ...TENANT_MOUNT_FLAGS, ...(options.readOnly ? ['ro', 'noload', 'noexec'] : [])];
  await run('mount', ['-t', 'ext4', '-o', flags.join(','), file, target]);
}

/** overlayfs: `lowers` first is topmost; no upper gives a read-only merged view. */
export async function mountOverlay(target: string, layers: { lowers: string[]; upper?: string; work?: string }): Promise<void> {
  if (await isMountPoint(target)) return;
  for (const dir of [...layers.lowers, layers.upper ?? '', layers.work ?? '']) {
    if (/[,:]/.test(dir)) throw new Error(`overlay layer path ${dir} contains ',' or ':', which overlayfs cannot take`);
  }
  await mkdir(target, { recursive: true });
  // nodev only: a server's setuid programs (su, ping) work as on any machine.
  const options = ['nodev', `lowerdir=${layers.lowers.join(':')}`];
  if (layers.upper && layers.work) options.push(`upperdir=${layers.upper}`, `workdir=${layers.work}`);
  await run('mount', ['-t', 'overlay', '-o', options.join(','), 'overlay', target]);
}

/**
 * Unmounts everything mounted at `target` (mounts can stack). A mount still busy a moment
 * after its container died is detached lazily so nothing stays pinned on the host.
 */
export async function unmount(target: string): Promise<boolean> {
  let unmounted = false;
  for (let attempt = 0; await isMountPoint(target); attempt++) {
    try {
      await run('umount', attempt < 20 ? [target] : ['-l', target]);
      unmounted = true;
    } catch (error) {
      if (!(error instanceof CommandFailed) || attempt >= 21) throw error;
      await sleep(100);
    }
  }
  return unmounted;
}

export async function unmountAllUnder(dir: string): Promise<string[]> {
  const released: string[] = [];
  for (const point of await mountPointsUnder(dir)) {
    if (await unmount(point)) released.push(point);
  }
  return released;
}

export interface LoopDevice {
  name: string;
  backingFile: string;
  device: string;
}

export async function loopDevices(): Promise<LoopDevice[]> {
  const { stdout } = await run('losetup', ['--list', '--json', '--output', 'NAME,BACK-FILE,MAJ:MIN']);
  if (!stdout.trim()) return [];
  const parsed = JSON.parse(stdout) as { loopdevices: { name: string; 'back-file': string | null; 'maj:min': string }[] };
  return parsed.loopdevices.map((loop) => ({
    name: loop.name,
    // A backing file removed while attached shows as "<path> (deleted)".
    backingFile: (loop['back-file'] ?? '').replace(/ \(deleted\)$/, ''),
    device: loop['maj:min'].trim(),
  }));
}

/** The loop device a file is attached to, if any. */
export async function loopDeviceOf(file: string): Promise<LoopDevice | undefined> {
  return (await loopDevices()).find((loop) => loop.backingFile === file);
}
