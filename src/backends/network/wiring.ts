import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../command.ts';
import type { NetworkSpec } from '../compute-host.ts';
import { exists, listDir, readJsonIfExists, writeFileAtomic } from '../files.ts';
import type { HostLayout } from '../layout.ts';
import { hostVethName, netnsName, peerVethName } from '../names.ts';
import type { Firewall } from './firewall.ts';
import { checkAddressing } from './ipv4.ts';

/** Runs `ip` commands in one process; it stops at the first failing line and names it. */
function ipBatch(options: string[], lines: string[]) {
  return run('ip', [...options, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

const linkExists = (name: string) => exists(path.join('/sys/class/net', name));
const netnsExists = (name: string) => exists(path.join('/run/netns', name));

/**
 * The MAC address of the interface holding `address`: made of the address (as Docker does), so
 * that a process or server given an address another had a moment ago is reached at once. With
 * a random one, the host's neighbour entry would still name the old MAC, and nothing would
 * reach the new holder until it expired (up to about 40 s).
 */
export function macOf(address: string): string {
  return ['02', '42', ...address.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'))].join(':');
}

/**
 * An organization's network is a Linux bridge holding the gateway address; each running
 * server or app container has a netns named `nimbus-<id>` on the host (a server's is made by
 * runc with its user namespace, which owns it) and a veth pair whose host end is on the bridge. The host routes to the subnet through the bridge, so it reaches every
 * server. A bridge goes when its last server does.
 *
 * Each bridge is recorded under `networks/` before it is made, which is how sweep knows the
 * bridges of this root from those of another.
 */
export class NetworkWiring {
  /** Bridge changes (create, delete-when-empty) run one at a time per bridge. */
  private readonly bridgeLocks = new Map<string, Promise<unknown>>();
  /**
   * Bridges this process has set up, by interface index: the next server on the same bridge
   * skips the set-up (a process start), unless the bridge was deleted and made again since.
   */
  private readonly readyBridges = new Map<string, string>();

  constructor(private readonly layout: HostLayout, private readonly firewall: Firewall) {}

  /** The bridges of every network recorded under this root. */
  private async recordedBridges(): Promise<string[]> {
    const bridges: string[] = [];
    for (const name of await listDir(this.layout.networks)) {
      if (!name.endsWith('.json')) continue;
      const network = await readJsonIfExists<NetworkSpec>(path.join(this.layout.networks, name));
      if (network) bridges.push(network.bridge);
    }
    return bridges.sort();
  }

  private withBridgeLock<T>(bridge: string, work: () => Promise<T>): Promise<T> {
    const previous = this.bridgeLocks.get(bridge) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    const settled = next.catch(() => undefined);
    this.bridgeLocks.set(bridge, settled);
    void settled.then(() => {
      if (this.bridgeLocks.get(bridge) === settled) this.bridgeLocks.delete(bridge);
    });
    return next;
  }

  /**
   * Wires a netns to its network: the netns of the process `ofPid` (a container's init, whose
   * user namespace owns it), or else a new one runc then joins. On failure leaves nothing of
   * its own behind.
   */
  async connect(serverId: string, address: string, network: NetworkSpec, ofPid?: number): Promise<void> {
    const prefix = checkAddressing(network, address);
    await this.withBridgeLock(network.bridge, async () => {
      await this.ensureBridge(network, prefix);
      await this.removeLinks(serverId);
      try {
        await this.addLinks(serverId, ofPid, address, prefix, network);
      } catch (error) {
        await this.removeLinks(serverId);
        await this.removeBridgeIfUnused(network);
        throw error;
      }
    });
  }

  async disconnect(serverId: string, network?: NetworkSpec): Promise<string[]> {
    const released = await this.removeLinks(serverId);
    if (network && (await this.withBridgeLock(network.bridge, () => this.removeBridgeIfUnused(network)))) released.push(`bridge ${network.bridge}`);
    return released;
  }

  private async ensureBridge(network: NetworkSpec, prefix: number): Promise<void> {
    const ifindex = () => readFile(path.join('/sys/class/net', network.bridge, 'ifindex'), 'utf8').catch(() => undefined);
    const ready = this.readyBridges.get(network.bridge);
    if (ready !== undefined) {
      const [index, recorded] = await Promise.all([ifindex(), exists(this.layout.networkRecord(network.id))]);
      if (ready === index && recorded) return;
    }
    this.readyBridges.delete(network.bridge);
    await writeFileAtomic(this.layout.networkRecord(network.id), JSON.stringify(network));
    if (!(await linkExists(network.bridge))) {
      await run('ip', ['link', 'add', 'name', network.bridge, 'type', 'bridge']).catch(async (error: unknown) => {
        if (!(await linkExists(network.bridge))) throw error;
      });
    }
    if (!(await exists(path.join('/sys/class/net', network.bridge, 'bridge')))) {
      throw new Error(`interface ${network.bridge} exists and is not a bridge`);
    }
    // The rules hold the bridge before it is up and any server joins it.
    await this.firewall.apply(() => this.recordedBridges());
    await ipBatch([], [`addr replace ${network.gateway}/${prefix} dev ${network.bridge}`, `link set ${network.bridge} up`]);
    const index = await ifindex();
    if (index !== undefined) this.readyBridges.set(network.bridge, index);
  }

  private async addLinks(serverId: string, ofPid: number | undefined, address: string, prefix: number, network: NetworkSpec): Promise<void> {
    const netns = netnsName(serverId);
    const host = hostVethName(serverId);
    const peer = peerVethName(serverId);
    // Two `ip -batch` runs instead of a process per step: starting a server is mostly this.
    // The server's end is born inside the netns: it never exists on the host under its name.
    await ipBatch([], [
      ofPid === undefined ? `netns add ${netns}` : `netns attach ${netns} ${ofPid}`,
      `link add ${host} type veth peer name ${peer} netns ${netns}`,
      `link set ${host} master ${network.bridge} up`,
    ]);
    await ipBatch(['-n', netns], [
      `link set ${peer} name eth0`,
      `link set eth0 address ${macOf(address)}`,
      `addr add ${address}/${prefix} dev eth0`,
      'link set eth0 up',
      'link set lo up',
      `route add default via ${network.gateway}`,
    ]);
  }

  /** Deleting the netns destroys the veth pair with it; the host end is deleted too in case. */
  private async removeLinks(serverId: string): Promise<string[]> {
    const released: string[] = [];
    const netns = netnsName(serverId);
    const host = hostVethName(serverId);
    const [netnsThere, hostThere] = await Promise.all([netnsExists(netns), linkExists(host)]);
    if (netnsThere) {
      await run('ip', ['netns', 'delete', netns]);
      released.push(`netns ${netns}`);
    }
    // Deleting the netns may have taken the host end with it.
    if (hostThere && (!netnsThere || (await linkExists(host)))) {
      await run('ip', ['link', 'delete', host]).catch(async (error: unknown) => {
        if (await linkExists(host)) throw error;
      });
      released.push(`veth ${host}`);
    }
    return released;
  }

  private async removeBridgeIfUnused(network: NetworkSpec): Promise<boolean> {
    const members = await listDir(path.join('/sys/class/net', network.bridge, 'brif'));
    if (members.length > 0) return false;
    return this.deleteBridge(network);
  }

  /** Deletes the bridge (if it exists) and its record; returns whether the bridge existed. */
  private async deleteBridge(network: NetworkSpec): Promise<boolean> {
    this.readyBridges.delete(network.bridge);
    const existed = await linkExists(network.bridge);
    if (existed) await run('ip', ['link', 'delete', network.bridge]);
    await rm(this.layout.networkRecord(network.id), { force: true });
    await this.firewall.apply(() => this.recordedBridges());
    return existed;
  }

  /** Removes the bridges of networks core no longer knows (their servers are gone by now). */
  async sweep(knownNetworks: ReadonlySet<string>): Promise<string[]> {
    const released: string[] = [];
    for (const name of await listDir(this.layout.networks)) {
      const networkId = /^(.+)\.json$/.exec(name)?.[1];
      if (!networkId || knownNetworks.has(networkId)) continue;
      const network = await readJsonIfExists<NetworkSpec>(path.join(this.layout.networks, name));
      if (!network) continue;
      if (await this.withBridgeLock(network.bridge, () => this.deleteBridge(network))) released.push(`bridge ${network.bridge}`);
    }
    // The rules again from the records: a crash may have left them out of step (or a table with no bridge).
    await this.firewall.apply(() => this.recordedBridges());
    return released;
  }
}
