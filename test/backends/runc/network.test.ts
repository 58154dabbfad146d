import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { NetworkSpec, ServerSpec } from '../../../src/backends/compute-host.ts';
import { macOf } from '../../../src/backends/network/wiring.ts';
import { BackendFixture, SKIP_REASON, hostPings } from './fixture.ts';

describe('runc host: private networks', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let network: NetworkSpec;
  let first: ServerSpec;
  let second: ServerSpec;
  const bridgeExists = () => existsSync(`/sys/class/net/${network.bridge}`);

  before(async () => {
    fixture = new BackendFixture();
    network = fixture.network();
    first = await fixture.server({ network, hostNumber: 10, hostname: 'first' });
    second = await fixture.server({ network, hostNumber: 11, hostname: 'second' });
  });

  after(async () => {
    await fixture?.dispose();
  });

  it('puts servers on their organization\'s bridge, where they reach each other and the host reaches them', async () => {
    await Promise.all([fixture.host.servers.start(first), fixture.host.servers.start(second)]);
    assert.ok(bridgeExists());
    const forward = await fixture.exec(first.id, `ping -c 1 -W 2 ${second.address}`);
    assert.equal(forward.exitCode, 0, forward.output);
    const back = await fixture.exec(second.id, `ping -c 1 -W 2 ${first.address}`);
    assert.equal(back.exitCode, 0, back.output);
    const gateway = await fixture.exec(first.id, `ping -c 1 -W 2 ${network.gateway}`);
    assert.equal(gateway.exitCode, 0, gateway.output);
    assert.ok(hostPings(first.address));
    assert.ok(hostPings(second.address));
    const addresses = await fixture.exec(first.id, 'ip -o -4 addr show eth0; ip route');
    assert.match(addresses.output, new RegExp(`${first.address.replace(/\./g, '\\.')}/24`));
    assert.match(addresses.output, new RegExp(`default via ${network.gateway.replace(/\./g, '\\.')}`));
  });

  it('reaches at once a server given the address another had a moment ago', async () => {
    // The host learns the first holder's MAC (its neighbour entry stays "reachable" for 15-45 s)...
    assert.ok(hostPings(second.address));
    await fixture.host.servers.remove(second.id);
    // ...and a new server on that address must be reached through it right away.
    second = await fixture.server({ network, hostNumber: 11, hostname: 'second' });
    await fixture.host.servers.start(second);
    assert.ok(hostPings(second.address), 'the new holder of the address answers at once');
    const mac = await fixture.exec(second.id, 'cat /sys/class/net/eth0/address');
    assert.equal(mac.output.trim(), macOf(second.address));
  });

  it('keeps the bridge while a server uses it and removes it with the last one', async () => {
    await fixture.host.servers.stop(first.id, { timeoutMs: 5000 });
    assert.ok(bridgeExists());
    assert.equal(hostPings(first.address), false);
    assert.ok(hostPings(second.address));
    await fixture.host.servers.stop(second.id, { timeoutMs: 5000 });
    assert.equal(bridgeExists(), false);
  });

  it('makes the bridge again when a server starts on it', async () => {
    await fixture.host.servers.start(first);
    assert.ok(bridgeExists());
    assert.ok(hostPings(first.address));
    await fixture.host.servers.remove(first.id);
    await fixture.host.servers.remove(second.id);
    assert.equal(bridgeExists(), false);
    assert.deepEqual(fixture.leftovers().filter((thing) => !thing.startsWith('file: ')), []);
  });
});
