import { chmod, lchown, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ComputeRejected, type ContainerState, type ExecRequest, type ExecResult, type ServerFacts, type FileReadRequest, type FileWriteRequest, type TreeReadRequest, type ServerSpec, type Terminal, type TerminalRequest } from '../compute-host.ts';
import { exists, makeStagingDir, readJsonIfExists, readTail, writeFileAtomic } from '../files.ts';
import { ownedByBlock, serverHostId, shiftOwnership, type ServerIdRange } from '../id-ranges.ts';
import { hostArch } from '../images/arch.ts';
import { HOST_BUSYBOX } from '../images/builtin.ts';
import { ROOT_VOLUME_UPPER } from '../images/from-snapshot.ts';
import type { ImageStore } from '../images/store.ts';
import type { HostLayout } from '../layout.ts';
import { mountOverlay, unmountAllUnder } from '../mounts.ts';
import { assertId, containerName } from '../names.ts';
import type { NetworkWiring } from '../network/wiring.ts';
import { readUntrusted } from '../untrusted-files.ts';
import type { VolumeStore } from '../volumes/store.ts';
import { hostsFileContent, runtimeConfig } from './bundle.ts';
import { execInContainer, type ExecTarget } from './exec.ts';
import { openTerminal } from './terminal.ts';
import { readFileInContainer, readTreeInContainer, writeFileInContainer } from './files.ts';
import type { Readable } from 'node:stream';
import { collectFacts } from './facts.ts';
import type { Runc } from './runtime.ts';
import { checkServerSpec } from './spec.ts';

const ROOT_VOLUME_WORK = 'work';
/** The root volume's directory for the server's /etc/hosts and /etc/hostname. */
const ROOT_VOLUME_ETC = 'etc';
const KILL_WAIT_MS = 10_000;
const CONSOLE_TAIL_BYTES = 8192;
const REMOVE_STOP_TIMEOUT_MS = 10_000;

/** Rewrites a file the server may have changed; left alone when it is as wanted, so that a server whose disk is full still starts. */
async function writeUnlessSame(file: string, content: string): Promise<void> {
  const current = await readUntrusted(file, Buffer.byteLength(content)).catch(() => undefined);
  if (current?.toString('utf8') !== content) await writeFileAtomic(file, content);
}

/**
 * The server's root is an unprivileged host id, and runc sets up the root filesystem as that
 * id: every directory above the bundle gets search permission for others (never read, so
 * nothing in them can be listed).
 */
async function letServersReach(dir: string): Promise<void> {
  const chain: string[] = [];
  for (let current = dir; !chain.includes(current); current = path.dirname(current)) chain.push(current);
  // Each directory on its own: looked at side by side, not one after the other.
  await Promise.all(
    chain.map(async (current) => {
      const { mode } = await stat(current);
      if ((mode & 0o001) === 0) await chmod(current, (mode & 0o7777) | 0o001);
    }),
  );
}

/**
 * Waits for every one of `work` to settle (so nothing is still running when a failure is
 * undone), then returns their values or throws the first failure.
 */
async function allSettledOrThrow<T>(work: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(work);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

/**
 * Servers: a bundle at `servers/<id>/` (spec.json, config.json, console.log
 * and the rootfs mount point). Starting mounts the root volume, an overlay of the image under
 * the root volume's `upper/`, the data volumes, wires the network and runs the container;
 * `release` undoes all of that from the recorded spec, whatever state it was left in, so a
 * failed start, a stop and the sweep share one teardown.
 */
export class ServerManager {
  constructor(
    private readonly layout: HostLayout,
    private readonly runc: Runc,
    private readonly images: ImageStore,
    private readonly volumes: VolumeStore,
    private readonly network: NetworkWiring,
    private readonly idRange: ServerIdRange,
  ) {}

  async create(spec: ServerSpec): Promise<void> {
    checkServerSpec(spec);
    await this.images.rootfs(spec.imageId);
    await this.volumes.requireFile(spec.rootVolumeId);
    await this.recordSpec(spec);
  }

  /** Writes spec.json, creating the server's directory; `release` undoes from it. */
  private async recordSpec(spec: ServerSpec): Promise<void> {
    await writeFileAtomic(this.layout.serverFile(spec.id, 'spec.json'), JSON.stringify(spec));
  }

  async start(spec: ServerSpec): Promise<void> {
    checkServerSpec(spec);
    const id = containerName(spec.id);
    const current = await this.runc.state(id);
    // Running and wired: started already. Running without init.pid: a start cut short before its
    // network was wired, which the release below kills and this start does again.
    if (current?.status === 'running' && (await this.runningInitPid(spec.id)) !== undefined) return;
    const hostId = serverHostId(this.idRange, spec.idBlock);
    // The image and every volume must be here (the first missing one is the error), and whether
    // a spec was recorded before decides what to release: independent checks, made side by side.
    const volumeIds = [spec.rootVolumeId, ...spec.volumes.map((v) => v.volumeId)];
    const [recordedBefore] = await Promise.all([
      exists(this.layout.serverFile(spec.id, 'spec.json')),
      allSettledOrThrow<unknown>([this.images.rootfs(spec.imageId), ...volumeIds.map((volumeId) => this.volumes.requireFile(volumeId))]),
    ]);

    // The spec is recorded first: whatever happens next, `release` knows what to undo. Without a
    // spec recorded before, nothing of this server was made on this host: nothing to release.
    await this.recordSpec(spec);
    await letServersReach(this.layout.serverDir(spec.id));
    if (recordedBefore || current !== undefined) await this.release(spec.id, { containerGone: current === undefined });
    try {
      const { rootVolume, lower, volumeSources } = await this.mountVolumesAndImage(spec, hostId);
      // The overlay and the bundle's files need only those: made side by side.
      await allSettledOrThrow([
        mountOverlay(this.layout.serverFile(spec.id, 'rootfs'), { lowers: [lower], upper: path.join(rootVolume, ROOT_VOLUME_UPPER), work: path.join(rootVolume, ROOT_VOLUME_WORK) }),
        this.writeBundleFiles(spec, hostId, rootVolume, volumeSources),
      ]);
      await this.runContainer(spec);
    } catch (error) {
      await this.release(spec.id).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The server's /etc/hosts and /etc/hostname, and config.json. The server may write to the
   * first two: they live on its own root volume (outside the overlay's layers), so what it
   * writes there counts against its disk, never the host's.
   */
  private async writeBundleFiles(spec: ServerSpec, hostId: number, rootVolume: string, volumeSources: Map<string, string>): Promise<void> {
    const hostsFile = path.join(rootVolume, ROOT_VOLUME_ETC, 'hosts');
    const hostnameFile = path.join(rootVolume, ROOT_VOLUME_ETC, 'hostname');
    await writeUnlessSame(hostsFile, hostsFileContent(spec));
    await writeUnlessSame(hostnameFile, `${spec.hostname}\n`);
    for (const file of [hostsFile, hostnameFile]) await lchown(file, hostId, hostId);
    const config = runtimeConfig({
      spec,
      hostsFile,
      hostnameFile,
      initBinary: HOST_BUSYBOX,
      volumeSources,
      cgroupsPath: `/${containerName(spec.id)}`,
      hostId,
    });
    await writeFileAtomic(this.layout.serverFile(spec.id, 'config.json'), JSON.stringify(config, null, 2));
  }

  /**
   * The root volume, the server's copy of its image (the overlay's lower layer) and the data
   * volumes, all owned by the server's ids; returns the root volume's, the copy's and each data
   * volume's host path.
   */
  private async mountVolumesAndImage(spec: ServerSpec, hostId: number): Promise<{ rootVolume: string; lower: string; volumeSources: Map<string, string> }> {
    // The image copy and each volume are independent of one another: made ready side by side,
    // the root volume first: its loop mount runs in another process while this one walks the copy.
    const volumeSources = new Map<string, string>();
    const [rootVolume, lower] = await allSettledOrThrow([
      this.mountRootVolume(spec.rootVolumeId, hostId),
      this.ownImageCopy(spec, hostId),
      ...spec.volumes.map(async (volume) => {
        const mountPoint = await this.volumes.mount(volume.volumeId);
        await this.claimVolume(mountPoint, hostId);
        volumeSources.set(volume.volumeId, mountPoint);
        return mountPoint;
      }),
    ]);
    return { rootVolume, lower, volumeSources };
  }

  /** Mounts the root volume with its overlay directories, owned by the server's ids; returns its mount point. */
  private async mountRootVolume(volumeId: string, hostId: number): Promise<string> {
    const rootVolume = await this.volumes.mount(volumeId);
    for (const dir of [ROOT_VOLUME_UPPER, ROOT_VOLUME_WORK, ROOT_VOLUME_ETC]) await mkdir(path.join(rootVolume, dir), { recursive: true });
    await this.claimVolume(rootVolume, hostId);
    return rootVolume;
  }

  /**
   * Gives a mounted volume's files to the server's ids. A new volume, one from before servers had
   * user namespaces, or one that last belonged to another server is walked once; after that the
   * owner of its top says it is done.
   */
  private async claimVolume(mountPoint: string, hostId: number): Promise<void> {
    if (!(await ownedByBlock(mountPoint, hostId))) await shiftOwnership(this.idRange, mountPoint, hostId);
  }

  /**
   * The overlay's lower layer: the server's own copy of its image, owned by its ids (runc here
   * cannot map ids on a mount, and the kernel refuses an overlay whose upper layer is an
   * id-mapped mount for the host's root, so the shared image cannot be used as it is). Made once
   * per image and block; `image.json` records which.
   */
  private async ownImageCopy(spec: ServerSpec, hostId: number): Promise<string> {
    const copy = this.layout.serverFile(spec.id, 'image');
    const record = this.layout.serverFile(spec.id, 'image.json');
    const wanted = { imageId: spec.imageId, hostId };
    const made = await readJsonIfExists<typeof wanted>(record);
    if (made?.imageId === wanted.imageId && made.hostId === wanted.hostId) return copy;
    const staging = await makeStagingDir(this.layout.staging, `server-image-${spec.id}`);
    try {
      const staged = path.join(staging, 'rootfs');
      await this.images.copyRootfs(spec.imageId, staged);
      await shiftOwnership(this.idRange, staged, hostId);
      await rm(record, { force: true });
      await rm(copy, { recursive: true, force: true });
      await rename(staged, copy);
      await writeFileAtomic(record, JSON.stringify(wanted));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return copy;
  }

  /**
   * Runs the container, then wires its network. runc makes the netns together with the user
   * namespace, which then owns it (the kernel lets a server mount its own /sys only in a netns
   * its user namespace owns), so the network is wired once the init runs: that init is ours, an
   * idle loop that needs no network, and the server counts as running only once it is wired.
   * One runc process (`run --detach`) instead of `create` then `start` after the wiring: a
   * runc start costs about 10 ms of a server's start. runc writes the init's pid to `runc.pid`,
   * renamed to `init.pid` once the network is wired: init.pid says the server is started.
   */
  private async runContainer(spec: ServerSpec): Promise<void> {
    const serverId = spec.id;
    const id = containerName(serverId);
    const log = this.layout.serverFile(serverId, 'console.log');
    const runcPidFile = this.layout.serverFile(serverId, 'runc.pid');
    try {
      await this.runc.runDetached(id, this.layout.serverDir(serverId), log, runcPidFile);
    } catch (error) {
      throw new Error(`the server's container did not start: ${await this.consoleTail(serverId)}`, { cause: error });
    }
    const pid = await this.runningInitPid(serverId, runcPidFile);
    if (pid === undefined) throw new Error(`the server's init exited at once: ${await this.consoleTail(serverId)}`);
    await this.network.connect(serverId, spec.address, spec.network, pid);
    await rename(runcPidFile, this.layout.serverFile(serverId, 'init.pid'));
  }

  /**
   * The pid of the server's init while it runs, read from the pid file runc wrote and checked in
   * /proc (alive, not a zombie, in the server's own cgroup, so a reused pid is not mistaken for
   * it). It answers in microseconds where asking runc takes a process start.
   */
  private async runningInitPid(serverId: string, pidFile = this.layout.serverFile(serverId, 'init.pid')): Promise<number | undefined> {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    const [stat, cgroups] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''), readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '')]);
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (!state || state === 'Z' || state === 'X') return undefined;
    return cgroups.includes(`:/${containerName(serverId)}`) ? pid : undefined;
  }

  /** The end of console.log, where runc writes: the reason a start failed (only its end is read). */
  private async consoleTail(serverId: string): Promise<string> {
    const text = await readTail(this.layout.serverFile(serverId, 'console.log'), CONSOLE_TAIL_BYTES).catch(() => '');
    return text.trim().split('\n').slice(-5).join('\n').slice(-1500) || 'no output';
  }

  async stop(serverId: string, options: { timeoutMs: number }): Promise<void> {
    assertId(serverId, 'server');
    const id = containerName(serverId);
    if (await this.isRunning(id)) {
      await this.runc.kill(id, 'TERM');
      if (!(await this.waitUntilStopped(id, options.timeoutMs))) {
        await this.runc.kill(id, 'KILL');
        if (!(await this.waitUntilStopped(id, KILL_WAIT_MS))) throw new Error(`server ${serverId} did not die after SIGKILL`);
      }
    }
    await this.release(serverId);
  }

  private async isRunning(containerId: string): Promise<boolean> {
    const status = (await this.runc.state(containerId))?.status;
    return status === 'running' || status === 'paused' || status === 'created';
  }

  private async waitUntilStopped(containerId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    do {
      if (!(await this.isRunning(containerId))) return true;
      await sleep(50);
    } while (Date.now() < deadline);
    return !(await this.isRunning(containerId));
  }

  /**
   * Deletes the container and releases its mounts and network, from the recorded spec. Safe on
   * anything: a running container is killed (callers that want grace use `stop`).
   */
  async release(serverId: string, options: { containerGone?: boolean } = {}): Promise<string[]> {
    const released: string[] = [];
    const id = containerName(serverId);
    if (!options.containerGone && (await this.runc.delete(id))) released.push(`container ${id}`);
    for (const pidFile of ['init.pid', 'runc.pid'] as const) await rm(this.layout.serverFile(serverId, pidFile), { force: true });
    const spec = await readJsonIfExists<ServerSpec>(this.layout.serverFile(serverId, 'spec.json'));
    // The overlay first: it sits on the root volume's mount.
    const unmounted = await unmountAllUnder(this.layout.serverFile(serverId, 'rootfs'));
    for (const volumeId of spec ? [...spec.volumes.map((v) => v.volumeId), spec.rootVolumeId] : []) {
      if (await this.volumes.unmount(volumeId)) unmounted.push(this.layout.volumeMount(volumeId));
    }
    released.push(...unmounted.map((mountPoint) => `mount ${mountPoint}`));
    released.push(...(await this.network.disconnect(serverId, spec?.network)));
    return released;
  }

  async state(serverId: string): Promise<ContainerState> {
    assertId(serverId, 'server');
    const status = (await this.runc.state(containerName(serverId)))?.status;
    // A container whose start was cut short before its network was wired (no init.pid) is not a running server.
    if ((status === 'running' || status === 'paused') && (await exists(this.layout.serverFile(serverId, 'init.pid')))) return 'running';
    return status !== undefined || (await exists(this.layout.serverDir(serverId))) ? 'stopped' : 'missing';
  }

  async remove(serverId: string): Promise<void> {
    await this.stop(serverId, { timeoutMs: REMOVE_STOP_TIMEOUT_MS });
    await this.removeBundle(serverId);
  }

  /** Deletes the bundle directory, never through a mount still inside it. */
  async removeBundle(serverId: string): Promise<void> {
    const dir = this.layout.serverDir(serverId);
    await unmountAllUnder(dir);
    await rm(dir, { recursive: true, force: true });
  }

  async exec(serverId: string, request: ExecRequest): Promise<ExecResult> {
    return execInContainer(await this.execTarget(serverId), request);
  }

  async writeFile(serverId: string, request: FileWriteRequest): Promise<{ path: string; bytes: number }> {
    return writeFileInContainer(await this.execTarget(serverId), request);
  }

  async readFile(serverId: string, request: FileReadRequest): Promise<Readable> {
    return readFileInContainer(await this.execTarget(serverId), request);
  }

  async readTree(serverId: string, request: TreeReadRequest): Promise<Readable> {
    return readTreeInContainer(await this.execTarget(serverId), request);
  }

  async terminal(serverId: string, request: TerminalRequest): Promise<Terminal> {
    return openTerminal(await this.execTarget(serverId), request);
  }

  /** Where processes run in a running server. */
  private async execTarget(serverId: string): Promise<ExecTarget> {
    assertId(serverId, 'server');
    if ((await this.runningInitPid(serverId)) === undefined) throw new ComputeRejected(`server ${serverId} is not running`, 'server');
    return { runc: this.runc, containerId: containerName(serverId), rootfs: this.layout.serverFile(serverId, 'rootfs'), scratchDir: this.layout.serverDir(serverId) };
  }

  async facts(serverId: string): Promise<ServerFacts> {
    assertId(serverId, 'server');
    const [pid, spec] = await Promise.all([this.runningInitPid(serverId), readJsonIfExists<ServerSpec>(this.layout.serverFile(serverId, 'spec.json'))]);
    if (pid === undefined || !spec) throw new ComputeRejected(`server ${serverId} is not running`, 'server');
    return collectFacts({
      spec,
      rootfs: this.layout.serverFile(serverId, 'rootfs'),
      volumeMount: (volumeId) => this.layout.volumeMount(volumeId),
      initPid: pid,
      arch: (await this.images.artifact(spec.imageId))?.arch ?? hostArch(),
    });
  }
}
