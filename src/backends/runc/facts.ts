import { readFile, statfs } from 'node:fs/promises';
import type { ServerFacts, ServerSpec } from '../compute-host.ts';
import { readFileInRoot } from '../rootfs-path.ts';
import { UntrustedFileRefused } from '../untrusted-files.ts';

/** Linux reports process start times in clock ticks; USER_HZ is 100 on every architecture Linux runs Node on. */
const CLOCK_TICKS_PER_SECOND = 100;

function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) fields[match[1]] = match[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return fields;
}

/** An os-release that is not a regular file of a sensible size says nothing. */
async function readOsRelease(rootfs: string, inside: string): Promise<string | undefined> {
  try {
    return await readFileInRoot(rootfs, inside);
  } catch (error) {
    if (error instanceof UntrustedFileRefused) return undefined;
    throw error;
  }
}

/** The host's CPU model: read once, it does not change while this process runs. */
let hostCpuModel: Promise<string> | undefined;
function cpuModel(): Promise<string> {
  hostCpuModel ??= readFile('/proc/cpuinfo', 'utf8')
    .catch(() => '')
    .then((cpuinfo) => /^(?:model name|Model|cpu model)\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? 'unknown');
  return hostCpuModel;
}

/** When a process started, from /proc/<pid>/stat (field 22) and the host's boot time. */
async function processStartTime(pid: number): Promise<Date> {
  const [stat, hostStat] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/stat', 'utf8')]);
  // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  const bootSeconds = Number(/^btime (\d+)$/m.exec(hostStat)?.[1]);
  return new Date((bootSeconds + startTicks / CLOCK_TICKS_PER_SECOND) * 1000);
}

async function disk(hostPath: string, mountPath: string) {
  const stats = await statfs(hostPath);
  return { mountPath, sizeBytes: stats.blocks * stats.bsize, usedBytes: (stats.blocks - stats.bfree) * stats.bsize };
}

export interface FactsSources {
  spec: ServerSpec;
  /** The server's merged root filesystem on the host. */
  rootfs: string;
  /** Host mount point of each of the server's volumes (root volume included), by volume id. */
  volumeMount(volumeId: string): string;
  initPid: number;
  arch: string;
}

/**
 * What a running server is: its OS (from its own os-release), its limits, disks and uptime. Its
 * sources are independent and read side by side: a start waits for them before it counts as running.
 */
export async function collectFacts(sources: FactsSources): Promise<ServerFacts> {
  const { spec } = sources;
  const [osReleaseText, bootTime, disks, model] = await Promise.all([
    readOsRelease(sources.rootfs, '/etc/os-release').then(async (text) => text ?? (await readOsRelease(sources.rootfs, '/usr/lib/os-release'))),
    processStartTime(sources.initPid),
    Promise.all([disk(sources.volumeMount(spec.rootVolumeId), '/'), ...spec.volumes.map((volume) => disk(sources.volumeMount(volume.volumeId), volume.mountPath))]),
    cpuModel(),
  ]);
  const osRelease = parseOsRelease(osReleaseText ?? '');
  return {
    hostname: spec.hostname,
    os: { name: osRelease.NAME ?? 'Linux', version: osRelease.VERSION_ID ?? osRelease.VERSION ?? '', platform: 'linux' },
    cpu: { count: spec.vcpus, model, arch: sources.arch },
    memoryBytes: spec.memoryBytes,
    disks,
    uptimeSeconds: Math.max(0, Math.floor((Date.now() - bootTime.getTime()) / 1000)),
    bootTime: bootTime.toISOString(),
  };
}
