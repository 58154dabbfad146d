import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServerSpec } from '../../../src/backends/compute-host.ts';
import { BackendFixture, MiB, SKIP_REASON, hostPings } from './fixture.ts';

describe('runc host: sweep', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  /** Another compute root on the same machine (another Nimbus, another test file). */
  let neighbour: BackendFixture;
  let server: ServerSpec;
  let dataVolume: string;
  let neighbourServer: ServerSpec;

  before(async () => {
    fixture = new BackendFixture();
    neighbour = new BackendFixture();
    dataVolume = await fixture.volume(16 * MiB);
    server = await fixture.server({ network: fixture.network(), hostNumber: 10, volumes: [{ volumeId: dataVolume, mountPath: '/data' }] });
    neighbourServer = await neighbour.server({ network: neighbour.network(), hostNumber: 10 });
    await Promise.all([fixture.host.servers.start(server), neighbour.host.servers.start(neighbourServer)]);
  });

  after(async () => {
    const results = await Promise.allSettled([fixture?.dispose(), neighbour?.dispose()]);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  });

  it('releases only what nothing known owns: an orphan volume, a stray loop device, half-built things', async () => {
    const orphan = await fixture.volume(16 * MiB);
    const orphanFile = path.join(fixture.root, 'volumes', `${orphan}.img`);
    const loop = execFileSync('losetup', ['--find', '--show', orphanFile], { encoding: 'utf8' }).trim();
    mkdirSync(path.join(fixture.root, 'staging', 'image-crashed-build', 'image', 'rootfs'), { recursive: true });

    const released = await fixture.host.sweep({
      servers: new Set([server.id]),
      volumes: new Set([server.rootVolumeId, dataVolume]),
      networks: new Set([server.network.id]),
    });
    assert.deepEqual(released.sort(), [`loop device ${loop} (${orphanFile})`, `staging image-crashed-build`, `volume file ${orphan}.img`].sort());
    assert.equal(await fixture.host.servers.state(server.id), 'running');
    assert.equal((await fixture.exec(server.id, 'echo alive > /data/x && cat /data/x')).output, 'alive\n');
  });

  it('releases a whole unknown server (container, mounts, network) and touches no other root', async () => {
    const released = await fixture.host.sweep({ servers: new Set(), volumes: new Set(), networks: new Set() });
    for (const expected of [`container nimbus-${server.id}`, `bundle ${server.id}`, `bridge ${server.network.bridge}`, `volume file ${dataVolume}.img`]) {
      assert.ok(released.includes(expected), `${expected} in ${released.join(', ')}`);
    }
    assert.equal(await fixture.host.servers.state(server.id), 'missing');
    assert.deepEqual(fixture.leftovers().filter((thing) => !thing.includes(`${path.sep}images${path.sep}`)), []);

    assert.equal(await neighbour.host.servers.state(neighbourServer.id), 'running');
    assert.ok(hostPings(neighbourServer.address));
  });
});
