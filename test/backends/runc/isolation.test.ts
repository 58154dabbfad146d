import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { NetworkSpec, ServerSpec } from '../../../src/backends/compute-host.ts';
import { firewallTableName } from '../../../src/backends/network/firewall.ts';
import { BackendFixture, SKIP_REASON } from './fixture.ts';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Whether `from` opens a TCP connection to address:port within two seconds (busybox nc). */
async function connects(fixture: BackendFixture, from: string, address: string, port: number): Promise<boolean> {
  const { exitCode } = await fixture.exec(from, `echo hi | nc -w 2 ${address} ${port}`);
  return exitCode === 0;
}

describe('runc host: isolation of servers', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let networkA: NetworkSpec;
  let networkB: NetworkSpec;
  let a1: ServerSpec;
  let a2: ServerSpec;
  let b1: ServerSpec;
  let listener: net.Server;
  let apiPort: number;
  let forwardingBefore: string;

  before(async () => {
    // With forwarding on (as any host doing NAT has it), only the rules keep networks apart.
    forwardingBefore = readFileSync(IP_FORWARD, 'utf8');
    writeFileSync(IP_FORWARD, '1\n');
    fixture = new BackendFixture();
    networkA = fixture.network();
    networkB = fixture.network();
    a1 = await fixture.server({ network: networkA, hostNumber: 10, hostname: 'a1' });
    a2 = await fixture.server({ network: networkA, hostNumber: 11, hostname: 'a2' });
    b1 = await fixture.server({ network: networkB, hostNumber: 10, hostname: 'b1' });
    await Promise.all([a1, a2, b1].map((server) => fixture.host.servers.start(server)));
    // Stands for the host's API: listening on every address, as `NIMBUS_HOST=0.0.0.0` does.
    listener = net.createServer((socket) => socket.end('api\n'));
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    apiPort = (listener.address() as net.AddressInfo).port;
  });

  after(async () => {
    listener?.close();
    await fixture?.dispose();
    if (forwardingBefore !== undefined) writeFileSync(IP_FORWARD, forwardingBefore);
  });

  it('runs servers under the default seccomp profile, in their own cgroup namespace', async () => {
    const status = await fixture.exec(a1.id, 'grep Seccomp: /proc/self/status');
    assert.match(status.output, /Seccomp:\s+2/);
    // Namespaces and mounts are what the profile refuses (the capability set alone would not).
    const unshare = await fixture.exec(a1.id, 'unshare -n true');
    assert.notEqual(unshare.exitCode, 0);
    assert.match(unshare.output, /Operation not permitted/);
    const cgroup = await fixture.exec(a1.id, 'cat /proc/self/cgroup');
    assert.ok(!cgroup.output.includes('nimbus-'), cgroup.output);
    assert.match(cgroup.output, /:\/$/m);
    // Ordinary work still runs.
    const ordinary = await fixture.exec(a1.id, 'ping -c 1 -W 2 ' + a2.address + ' >/dev/null && echo ok');
    assert.equal(ordinary.output, 'ok\n');
  });

  it('lets a server reach its own network but neither another organization\'s servers nor the host\'s services', async () => {
    const b1Listener = fixture.exec(b1.id, 'nc -l -p 7000 -w 10 >/dev/null');
    const a2Listener = fixture.exec(a2.id, 'nc -l -p 7000 -w 10 >/dev/null');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await connects(fixture, a1.id, a2.address, 7000), true, 'a server reaches a peer of its network');
    assert.equal(await connects(fixture, a1.id, b1.address, 7000), false, "a server must not reach another organization's server");
    const ping = await fixture.exec(a1.id, `ping -c 1 -W 2 ${b1.address}`);
    assert.notEqual(ping.exitCode, 0, ping.output);
    assert.equal(await connects(fixture, a1.id, networkA.gateway, apiPort), false, "a server must not reach the host's API port");
    assert.equal(await connects(fixture, b1.id, networkA.gateway, apiPort), false);
    // Its gateway still answers a ping, and the host reaches servers (commands, health checks).
    assert.equal((await fixture.exec(a1.id, `ping -c 1 -W 2 ${networkA.gateway}`)).exitCode, 0);
    await Promise.allSettled([b1Listener, a2Listener]);
  });

  it('removes the rules with the last network', async () => {
    const table = firewallTableName(fixture.root);
    assert.match(execFileSync('nft', ['list', 'table', 'inet', table], { encoding: 'utf8' }), new RegExp(networkB.bridge));
    await fixture.host.servers.remove(b1.id);
    const rules = execFileSync('nft', ['list', 'table', 'inet', table], { encoding: 'utf8' });
    assert.ok(!rules.includes(networkB.bridge), rules);
    await fixture.host.servers.remove(a1.id);
    await fixture.host.servers.remove(a2.id);
    assert.ok(!execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).includes(table));
    assert.deepEqual(fixture.leftovers().filter((thing) => !thing.startsWith('file: ')), []);
  });
});
