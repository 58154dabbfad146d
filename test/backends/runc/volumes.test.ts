import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ComputeRejected, type NetworkSpec, type ServerSpec } from '../../../src/backends/compute-host.ts';
import { BackendFixture, MiB, SKIP_REASON } from './fixture.ts';

/** ext4 grows a mounted filesystem only for a process with CAP_SYS_RESOURCE (bit 24). */
const CAN_GROW_ONLINE = (BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0'}`) & (1n << 24n)) !== 0n;

/** Free space (1K blocks) of the filesystem at `path` in the server, from busybox df. */
async function sizeKb(fixture: BackendFixture, serverId: string, path: string): Promise<number> {
  const { output } = await fixture.exec(serverId, `df -k ${path} | tail -n 1`);
  return Number(output.trim().split(/\s+/)[1]);
}

describe('runc host: volumes and snapshots', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let network: NetworkSpec;
  let server: ServerSpec;
  let data: string;

  before(async () => {
    fixture = new BackendFixture();
    network = fixture.network();
    data = await fixture.volume(16 * MiB);
    server = await fixture.server({ network, hostNumber: 10, volumes: [{ volumeId: data, mountPath: '/data' }] });
    await fixture.host.servers.start(server);
  });

  after(async () => {
    await fixture?.dispose();
  });

  it('is a real filesystem of the asked size: writing past it fails with ENOSPC', async () => {
    assert.ok((await sizeKb(fixture, server.id, '/data')) <= 16 * 1024);
    const fill = await fixture.exec(server.id, 'dd if=/dev/zero of=/data/fill bs=1M count=64');
    assert.notEqual(fill.exitCode, 0);
    assert.match(fill.output, /No space left on device/);
    await fixture.exec(server.id, 'rm /data/fill');
  });

  it(`grows while mounted (${CAN_GROW_ONLINE ? 'online' : 'at the next start: this host lacks CAP_SYS_RESOURCE'}), and again while not`, async () => {
    const before = await sizeKb(fixture, server.id, '/data');
    await fixture.host.volumes.resize(data, 48 * MiB);
    await fixture.host.volumes.resize(data, 48 * MiB);
    if (!CAN_GROW_ONLINE) {
      assert.equal(await sizeKb(fixture, server.id, '/data'), before);
      await fixture.host.servers.stop(server.id, { timeoutMs: 5000 });
      await fixture.host.servers.start(server);
    }
    const grown = await sizeKb(fixture, server.id, '/data');
    assert.ok(grown > before + 28 * 1024, `${grown} KiB after growing from ${before} KiB`);
    const write = await fixture.exec(server.id, 'dd if=/dev/zero of=/data/big bs=1M count=24 && rm /data/big');
    assert.equal(write.exitCode, 0, write.output);
    await assert.rejects(fixture.host.volumes.resize(data, 16 * MiB), ComputeRejected);

    await fixture.host.servers.stop(server.id, { timeoutMs: 5000 });
    await fixture.host.volumes.resize(data, 64 * MiB);
    await fixture.host.servers.start(server);
    assert.ok((await sizeKb(fixture, server.id, '/data')) > grown + 10 * 1024);
  });

  it('snapshots a volume in use; a new, larger volume from the snapshot has its data', async () => {
    await fixture.exec(server.id, 'echo kept > /data/kept; sync');
    const snapshotId = randomUUID();
    const { sizeBytes } = await fixture.host.volumes.snapshot(data, snapshotId);
    assert.equal(sizeBytes, 64 * MiB);
    assert.deepEqual(await fixture.host.volumes.snapshot(data, snapshotId), { sizeBytes });
    await fixture.exec(server.id, 'echo changed-later > /data/kept');

    await assert.rejects(fixture.host.volumes.create(randomUUID(), 32 * MiB, snapshotId), ComputeRejected);
    const copy = await fixture.volume(96 * MiB, snapshotId);
    const reader = await fixture.server({ network, hostNumber: 11, volumes: [{ volumeId: copy, mountPath: '/restored' }] });
    await fixture.host.servers.start(reader);
    assert.equal((await fixture.exec(reader.id, 'cat /restored/kept')).output, 'kept\n');
    assert.ok((await sizeKb(fixture, reader.id, '/restored')) > 80 * 1024);
    await fixture.host.volumes.removeSnapshot(snapshotId);
    await fixture.host.volumes.removeSnapshot(snapshotId);
  });

  it('makes an image from a root volume snapshot: the server\'s changes over its base image', async () => {
    await fixture.exec(server.id, 'echo baked > /etc/motd; rm /etc/profile');
    const snapshotId = randomUUID();
    await fixture.host.volumes.snapshot(server.rootVolumeId, snapshotId);
    const imageId = randomUUID();
    const artifact = await fixture.host.images.fromSnapshot(imageId, snapshotId, server.imageId);
    assert.ok(artifact.sizeBytes > 1000);
    const clone = await fixture.server({ network, hostNumber: 12, imageId });
    await fixture.host.servers.start(clone);
    const check = await fixture.exec(clone.id, 'cat /etc/motd; test -e /etc/profile || echo profile-gone; cat /etc/os-release | head -n 1');
    assert.equal(check.output, 'baked\nprofile-gone\nNAME="Nimbus BusyBox"\n');
  });

  it('refuses to delete a mounted volume, and deletes it once detached', async () => {
    await assert.rejects(fixture.host.volumes.remove(data), ComputeRejected);
    await fixture.host.servers.stop(server.id, { timeoutMs: 5000 });
    await fixture.host.volumes.remove(data);
    await fixture.host.volumes.remove(data);
    await assert.rejects(fixture.host.volumes.resize(data, 128 * MiB), ComputeRejected);
  });

  it('refuses sizes it cannot honour', async () => {
    await assert.rejects(fixture.host.volumes.create(randomUUID(), 1024), ComputeRejected);
    await assert.rejects(fixture.host.volumes.create(randomUUID(), 1.5 * MiB * 100.3), ComputeRejected);
    await assert.rejects(fixture.host.volumes.create('../escape', 16 * MiB), ComputeRejected);
  });
});
