import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ComputeHost, NetworkSpec, ServerSpec } from '../../../src/backends/compute-host.ts';
import { bridgeName } from '../../../src/backends/names.ts';
import { createRuncHost, type RuncHostSettings } from '../../../src/backends/runc/index.ts';
import { computeSkipReason, computeTestSettings } from '../../support/compute.ts';
import { hostLeftovers } from '../../support/host-leftovers.ts';

/** Why these tests cannot run here (not root, no runc), or null. */
export const SKIP_REASON = computeSkipReason();

export const MiB = 1024 * 1024;

/**
 * A runc host on its own temporary root and its own claimed test address range (shared with
 * the other compute tests, so parallel files never use the same subnets or bridges).
 */
export class BackendFixture {
  readonly host: ComputeHost;
  readonly root: string;
  private readonly settings = computeTestSettings();
  private readonly rangePrefix: string;
  private builtin?: Promise<string>;
  private subnets = 0;
  /** Blocks of host ids apart from other test processes' (a server's ids are its own). */
  private idBlocks = (process.pid % 500) * 100;
  readonly serverIds: string[] = [];
  readonly networks: NetworkSpec[] = [];

  constructor(options: Pick<RuncHostSettings, 'imageLimits' | 'spares'> = {}) {
    this.root = this.settings.config.computeDir;
    this.host = createRuncHost({ root: this.root, ...options });
    // `10.N.0.0/16` -> `10.N`
    this.rangePrefix = this.settings.config.networkRange.split('.').slice(0, 2).join('.');
  }

  /** A fresh network: a /24 of this fixture's range and a bridge named from its id. */
  network(): NetworkSpec {
    const id = randomUUID();
    const third = ++this.subnets;
    const network = { id, bridge: bridgeName(id), subnet: `${this.rangePrefix}.${third}.0/24`, gateway: `${this.rangePrefix}.${third}.1` };
    this.networks.push(network);
    return network;
  }

  /** The built-in image, made once per fixture. */
  builtinImage(): Promise<string> {
    this.builtin ??= (async () => {
      const imageId = randomUUID();
      await this.host.images.ensureBuiltin(imageId);
      return imageId;
    })();
    return this.builtin;
  }

  async volume(sizeBytes = 64 * MiB, fromSnapshotId?: string): Promise<string> {
    const volumeId = randomUUID();
    await this.host.volumes.create(volumeId, sizeBytes, fromSnapshotId);
    return volumeId;
  }

  /** A created (not started) server with a new root volume; `hostAddress` picks its address in the network. */
  async server(options: { network: NetworkSpec; hostNumber: number } & Partial<ServerSpec>): Promise<ServerSpec> {
    const { network, hostNumber, ...overrides } = options;
    const spec: ServerSpec = {
      id: randomUUID(),
      hostname: 'server',
      imageId: overrides.imageId ?? (await this.builtinImage()),
      rootVolumeId: overrides.rootVolumeId ?? (await this.volume()),
      vcpus: 1,
      memoryBytes: 128 * MiB,
      network,
      address: network.gateway.replace(/\.1$/, `.${hostNumber}`),
      volumes: [],
      idBlock: this.idBlocks++,
      ...overrides,
    };
    this.serverIds.push(spec.id);
    await this.host.servers.create(spec);
    return spec;
  }

  /** Runs a line and returns its exit code and its whole output. */
  async exec(serverId: string, line: string, options: { username?: string; groupname?: string; env?: Record<string, string> } = {}) {
    let output = '';
    const result = await this.host.servers.exec(serverId, { line, ...options, onOutput: (chunk) => void (output += chunk) });
    return { ...result, output };
  }

  /** What of this fixture is still on the host: mounts, loop devices, links, netns, cgroups, files. */
  leftovers(): string[] {
    return hostLeftovers(this.root, { servers: this.serverIds, bridges: this.networks.map((n) => n.bridge) }, []);
  }

  /**
   * Releases everything the tests left (even after a failure) with a sweep that knows nothing,
   * then the directories and the range; fails when the sweep let something on the host slip.
   */
  async dispose(): Promise<void> {
    try {
      await this.host.close();
      await this.host.sweep({ servers: new Set(), volumes: new Set(), networks: new Set() });
    } finally {
      const leaked = this.leftovers().filter((thing) => !thing.startsWith('file: '));
      // Never delete through a mount that is still there.
      if (!readFileSync('/proc/self/mountinfo', 'utf8').includes(this.root)) this.settings.dispose();
      if (leaked.length > 0) throw new Error(`the sweep left: ${leaked.join('\n')}`);
    }
  }
}

/** Whether the host can reach an address (one ICMP echo). */
export function hostPings(address: string): boolean {
  try {
    execFileSync('ping', ['-c', '1', '-W', '2', address], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
