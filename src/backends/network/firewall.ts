import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { run } from '../command.ts';

/** How servers may reach beyond their own network. */
export interface FirewallSettings {
  /** Servers reach the internet through NAT (masqueraded behind the host's own address). */
  nat: boolean;
}

/** The nftables table of a compute root (each root keeps its own, so two never touch each other's rules). */
export function firewallTableName(root: string): string {
  return `nimbus_${createHash('sha256').update(root).digest('hex').slice(0, 12)}`;
}

/**
 * The nftables rules around organizations' networks, one table per compute root holding the
 * root's bridges in a set:
 * - a server reaches servers of its own network (one bridge) and nothing of another;
 * - it reaches nothing on the host but replies to the host's own connections and pings of its
 *   gateway (nothing is published yet): the API, `/metrics`, SSH and the rest stay out of reach;
 * - it reaches the internet through NAT when configured (never link-local addresses, where
 *   clouds keep their metadata services), and nothing outside connects in.
 * The whole table is written at once from the list of bridges (atomic in nftables), and removed
 * with the last bridge.
 */
export class Firewall {
  private readonly table: string;
  /** Changes apply one at a time, each from the bridge list as it is then. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(root: string, private readonly settings: FirewallSettings) {
    this.table = firewallTableName(root);
  }

  /** Rewrites the rules for exactly these bridges (none removes the table). */
  apply(bridges: () => Promise<string[]>): Promise<void> {
    const next = this.queue.catch(() => undefined).then(async () => {
      const current = await bridges();
      // NAT needs the host to route, as Docker does; the forward rules above confine our bridges.
      if (this.settings.nat && current.length > 0) await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n');
      await run('nft', ['-f', '-'], { input: this.script(current) });
    });
    this.queue = next;
    return next;
  }

  private script(bridges: string[]): string {
    // `add` then `delete` makes deleting a missing table a no-op.
    const reset = [`add table inet ${this.table}`, `delete table inet ${this.table}`];
    if (bridges.length === 0) return `${reset.join('\n')}\n`;
    const names = bridges.map((bridge) => `"${bridge}"`).join(', ');
    const pairs = bridges.map((bridge) => `"${bridge}" . "${bridge}"`).join(', ');
    const outbound = this.settings.nat
      ? ['iifname @bridges ip daddr 169.254.0.0/16 drop', 'iifname @bridges ip6 daddr fe80::/10 drop', 'iifname @bridges accept']
      : [];
    return `${[
      ...reset,
      `table inet ${this.table} {`,
      `  set bridges { type ifname; elements = { ${names} } }`,
      `  set same_network { type ifname . ifname; elements = { ${pairs} } }`,
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      '    iifname . oifname @same_network accept',
      '    oifname @bridges ct state established,related accept',
      '    iifname @bridges oifname @bridges drop',
      '    oifname @bridges drop',
      ...outbound.map((rule) => `    ${rule}`),
      '    iifname @bridges drop',
      '  }',
      '  chain input {',
      '    type filter hook input priority filter; policy accept;',
      '    iifname @bridges ct state established,related accept',
      '    iifname @bridges icmp type echo-request accept',
      '    iifname @bridges drop',
      '  }',
      ...(this.settings.nat
        ? ['  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;', '    iifname @bridges oifname != @bridges masquerade', '  }']
        : []),
      '}',
    ].join('\n')}\n`;
  }
}
