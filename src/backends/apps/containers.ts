import { spawn } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerLimits, ProcessSpec } from '../app-host.ts';
import { exists, readJsonIfExists, writeFileAtomic } from '../files.ts';
import { mountOverlay, unmountAllUnder } from '../mounts.ts';
import { assertId, containerName, netnsName } from '../names.ts';
import type { NetworkWiring } from '../network/wiring.ts';
import { bind, containerConfig, CPU_PERIOD_US } from '../runc/bundle.ts';
import type { Runc } from '../runc/runtime.ts';
import type { AppLayout } from './layout.ts';
import { APP_USER } from './source.ts';
import type { Stack } from './stack.ts';

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PIDS_LIMIT = 1024;
const KILL_WAIT_MS = 10_000;

/** Environment lines for a container; names are checked by core, values are passed as they are. */
function environment(env: Record<string, string>): string[] {
  return [PATH, 'HOME=/app', ...Object.entries(env).map(([name, value]) => `${name}=${value}`)];
}

function resources(limits: ContainerLimits) {
  return { memoryBytes: limits.memoryBytes, cpuQuotaUs: Math.max(1000, Math.round(limits.cpu * CPU_PERIOD_US)), pids: PIDS_LIMIT };
}

/** The config of an app container: the stack's root read-only, `/app` from `appDir`, a private /tmp. */
export function appContainerConfig(input: { stack: Stack; appDir: string; command: string; env: Record<string, string>; limits: ContainerLimits; netnsPath: string | null; cgroupsPath: string }): object {
  return containerConfig({
    process: { args: ['/bin/sh', '-c', input.command], env: environment(input.env), cwd: '/app', user: APP_USER },
    root: { path: input.stack.rootfs, readonly: true },
    hostname: 'app',
    mounts: [
      ...input.stack.mounts,
      bind(input.appDir, '/app'),
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=262144k'] },
    ],
    netnsPath: input.netnsPath,
    resources: resources(input.limits),
    cgroupsPath: input.cgroupsPath,
  });
}

/**
 * The config of a process of a release made from an image: the image's files (the slug, under
 * the process's own writable layer) are its root, as in any container runtime; `/tmp` is private.
 */
export function imageContainerConfig(input: { rootfs: string; command: string; env: Record<string, string>; limits: ContainerLimits; netnsPath: string; cgroupsPath: string }): object {
  return containerConfig({
    process: { args: ['/bin/sh', '-c', input.command], env: environment(input.env), cwd: '/', user: APP_USER },
    root: { path: input.rootfs, readonly: false },
    hostname: 'app',
    mounts: [{ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=262144k'] }],
    netnsPath: input.netnsPath,
    resources: resources(input.limits),
    cgroupsPath: input.cgroupsPath,
  });
}

/**
 * Runs a container in the foreground (a build, a one-off run): stdout and stderr go to
 * `onOutput` as they come; `stdin`, when given, is its standard input (runc passes the pipe
 * through to the process); an abort kills every process in it. The bundle directory is removed
 * afterwards. Returns the exit code.
 */
export async function runToCompletion(runc: Runc, bundle: string, id: string, onOutput: (text: string) => void | Promise<void>, signal?: AbortSignal, stdin?: Readable): Promise<number> {
  const name = containerName(id);
  await mkdir(runc.stateDir, { recursive: true });
  const child = spawn(runc.binary, ['--root', runc.stateDir, 'run', '--bundle', bundle, name], { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  if (stdin && child.stdin) {
    // A process that exits without reading all its input closes the pipe: not an error.
    child.stdin.on('error', () => undefined);
    stdin.pipe(child.stdin);
    child.on('close', () => stdin.unpipe(child.stdin!));
  }
  const kill = () => void runc.kill(name, 'KILL').catch(() => undefined);
  signal?.addEventListener('abort', kill, { once: true });
  let writes: Promise<void> = Promise.resolve();
  for (const stream of [child.stdout!, child.stderr!]) {
    const decoder = new StringDecoder('utf8');
    stream.on('data', (chunk: Buffer) => {
      const text = decoder.write(chunk);
      if (text) writes = writes.then(() => onOutput(text)).catch(() => undefined);
    });
  }
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (exitCode, killedBy) => resolve(exitCode ?? (killedBy ? 137 : 1)));
    });
    await writes;
    return code;
  } finally {
    signal?.removeEventListener('abort', kill);
    await runc.delete(name).catch(() => undefined);
    await rm(bundle, { recursive: true, force: true });
  }
}

/**
 * App processes: detached containers (they outlive Nimbus) with a bundle under `processes/<id>/`.
 * `/app` is an overlay: the slug read-only below, a writable layer of the process's own above,
 * thrown away with it (for a release made from an image, that overlay is the root instead). Each has an address on its organization's network.
 */
export class ProcessManager {
  constructor(
    private readonly layout: AppLayout,
    private readonly runc: Runc,
    private readonly network: NetworkWiring,
    private readonly stack: () => Promise<Stack>,
  ) {}

  async start(spec: ProcessSpec): Promise<void> {
    assertId(spec.id, 'process');
    assertId(spec.slugId, 'slug');
    if (await this.running(spec.id)) return;
    const slug = this.layout.slugDir(spec.slugId);
    if (!(await exists(slug))) throw new Error(`the slug of release ${spec.slugId} is missing on this host`);
    await writeFileAtomic(this.layout.processFile(spec.id, 'spec.json'), JSON.stringify({ id: spec.id, network: spec.network }));
    await this.release(spec.id);
    try {
      const upper = this.layout.processFile(spec.id, 'upper');
      const work = this.layout.processFile(spec.id, 'work');
      await mkdir(upper, { recursive: true });
      await mkdir(work, { recursive: true });
      const appDir = this.layout.processFile(spec.id, 'app');
      await mountOverlay(appDir, { lowers: [slug], upper, work });
      await this.network.connect(spec.id, spec.address, spec.network);
      const running = { command: spec.command, env: spec.env, limits: spec.limits, netnsPath: path.join('/run/netns', netnsName(spec.id)), cgroupsPath: `/nimbus-app-${spec.id}` };
      const config = spec.slugIsRootfs ? imageContainerConfig({ rootfs: appDir, ...running }) : appContainerConfig({ stack: await this.stack(), appDir, ...running });
      await writeFileAtomic(this.layout.processFile(spec.id, 'config.json'), JSON.stringify(config));
      await this.runc.runDetached(containerName(spec.id), path.join(this.layout.processes, spec.id), this.layout.processFile(spec.id, 'console.log'), this.layout.processFile(spec.id, 'init.pid'));
    } catch (error) {
      await this.release(spec.id).catch(() => undefined);
      throw error;
    }
  }

  async running(id: string): Promise<boolean> {
    assertId(id, 'process');
    const status = (await this.runc.state(containerName(id)))?.status;
    return status === 'running' || status === 'created' || status === 'paused';
  }

  async stop(id: string, { timeoutMs }: { timeoutMs: number }): Promise<void> {
    assertId(id, 'process');
    const name = containerName(id);
    if (await this.running(id)) {
      // The whole process tree: a Procfile's shell may not pass SIGTERM on to its children.
      await this.runc.kill(name, 'TERM');
      if (!(await this.waitUntilStopped(id, timeoutMs))) {
        await this.runc.kill(name, 'KILL');
        if (!(await this.waitUntilStopped(id, KILL_WAIT_MS))) throw new Error(`process ${id} did not die after SIGKILL`);
      }
    }
    await this.release(id);
    await rm(path.join(this.layout.processes, id), { recursive: true, force: true });
  }

  private async waitUntilStopped(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!(await this.running(id))) return true;
      await sleep(50);
    }
    return !(await this.running(id));
  }

  /** Deletes the container and releases its network and mounts, whatever state it is in. */
  async release(id: string): Promise<string[]> {
    const released: string[] = [];
    if (await this.runc.delete(containerName(id))) released.push(`container ${containerName(id)}`);
    const spec = await readJsonIfExists<Pick<ProcessSpec, 'network'>>(this.layout.processFile(id, 'spec.json'));
    released.push(...(await unmountAllUnder(path.join(this.layout.processes, id))).map((point) => `mount ${point}`));
    released.push(...(await this.network.disconnect(id, spec?.network)));
    return released;
  }

  /** Output since `offset`. A log past its cap is started again (its start was read long ago). */
  async readOutput(id: string, offset: number): Promise<{ text: string; offset: number }> {
    assertId(id, 'process');
    const file = this.layout.processFile(id, 'console.log');
    const handle = await open(file, 'r+').catch(() => undefined);
    if (!handle) return { text: '', offset };
    try {
      const { size } = await handle.stat();
      const from = size < offset ? 0 : offset;
      const length = Math.min(size - from, 1024 * 1024);
      if (length <= 0) return { text: '', offset: from };
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, from);
      // Whole lines only (a line cut by the read limit comes next time), unless one line fills the buffer.
      const end = buffer.lastIndexOf(10) + 1 || length;
      let next = from + end;
      if (next >= LOG_ROTATE_BYTES && next === size) {
        await handle.truncate(0);
        next = 0;
      }
      return { text: buffer.subarray(0, end).toString('utf8'), offset: next };
    } finally {
      await handle.close();
    }
  }
}

/** A process's output file is emptied once read past this size (its lines are in the app's log store). */
const LOG_ROTATE_BYTES = 4 * 1024 * 1024;
