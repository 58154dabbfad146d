import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NetworkSpec, ServerSpec } from '../../../src/backends/compute-host.ts';
import { DEFAULT_SERVER_ID_RANGE, IDS_PER_SERVER, serverHostId } from '../../../src/backends/id-ranges.ts';
import { BackendFixture, SKIP_REASON } from './fixture.ts';

/** The host id that is root in the server. */
const hostIdOf = (server: ServerSpec) => serverHostId(DEFAULT_SERVER_ID_RANGE, server.idBlock);

describe('runc host: servers in their own user namespaces', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let network: NetworkSpec;
  let a: ServerSpec;
  let b: ServerSpec;
  let data: string;

  const initPid = (server: ServerSpec) => Number(readFileSync(path.join(fixture.root, 'servers', server.id, 'init.pid'), 'utf8'));
  const hostIds = (pid: number) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { uids: /^Uid:\s+(.+)$/m.exec(status)![1]!.split(/\s+/).map(Number), gids: /^Gid:\s+(.+)$/m.exec(status)![1]!.split(/\s+/).map(Number) };
  };

  before(async () => {
    fixture = new BackendFixture();
    network = fixture.network();
    data = await fixture.volume();
    a = await fixture.server({ network, hostNumber: 10, hostname: 'a', volumes: [{ volumeId: data, mountPath: '/data' }] });
    b = await fixture.server({ network, hostNumber: 11, hostname: 'b' });
    await Promise.all([a, b].map((server) => fixture.host.servers.start(server)));
  });

  after(async () => {
    await fixture?.dispose();
  });

  it('runs root in a server as its unprivileged host id', async () => {
    assert.equal((await fixture.exec(a.id, 'id -u; id -g')).output, '0\n0\n');
    const hostId = hostIdOf(a);
    assert.ok(hostId >= DEFAULT_SERVER_ID_RANGE.first);
    assert.deepEqual(hostIds(initPid(a)), { uids: [hostId, hostId, hostId, hostId], gids: [hostId, hostId, hostId, hostId] });
    // Commands run in the same namespace.
    assert.equal((await fixture.exec(a.id, 'cat /proc/self/uid_map')).output.trim().split(/\s+/).join(' '), `0 ${hostId} ${IDS_PER_SERVER}`);
  });

  it('gives each server its own ids: two servers\' ranges do not overlap', () => {
    const maps = [a, b].map((server) => readFileSync(`/proc/${initPid(server)}/uid_map`, 'utf8').trim().split(/\s+/).map(Number));
    assert.deepEqual(maps[0], [0, hostIdOf(a), IDS_PER_SERVER]);
    assert.deepEqual(maps[1], [0, hostIdOf(b), IDS_PER_SERVER]);
    const [first, second] = [maps[0]![1]!, maps[1]![1]!].sort((x, y) => x - y);
    assert.ok(first! + IDS_PER_SERVER <= second!, `ranges ${first} and ${second} overlap`);
  });

  it('owns what a server creates by its mapped ids on the host, and keeps ids inside as they were', async () => {
    const made = await fixture.exec(a.id, 'touch /root/by-root /data/by-root && chmod 1777 /data && su nimbus -c "touch /tmp/by-nimbus /data/by-nimbus" && ls -ln /data/by-nimbus /etc/passwd');
    assert.equal(made.exitCode, 0, made.output);
    assert.match(made.output, /1000\s+1000 .*by-nimbus/);
    assert.match(made.output, /0\s+0 .*passwd/, 'the image\'s files are root\'s inside');
    const hostId = hostIdOf(a);
    const upper = path.join(fixture.root, 'mounts', a.rootVolumeId, 'upper');
    const owner = (file: string) => ({ uid: statSync(file).uid, gid: statSync(file).gid });
    assert.deepEqual(owner(path.join(upper, 'root', 'by-root')), { uid: hostId, gid: hostId });
    assert.deepEqual(owner(path.join(upper, 'tmp', 'by-nimbus')), { uid: hostId + 1000, gid: hostId + 1000 });
    assert.deepEqual(owner(path.join(fixture.root, 'mounts', data, 'by-root')), { uid: hostId, gid: hostId });
    assert.deepEqual(owner(path.join(fixture.root, 'mounts', data, 'by-nimbus')), { uid: hostId + 1000, gid: hostId + 1000 });
    // Root in the server cannot make device nodes or reach what the host's root owns.
    assert.notEqual((await fixture.exec(a.id, 'mknod /root/null c 1 3')).exitCode, 0);
  });

  it('shows a server none of the host\'s processes, and lets it signal none', async () => {
    const seen = await fixture.exec(a.id, `ls /proc | grep -c '^[0-9]'; test -e /proc/${process.pid} && echo sees-host`);
    assert.ok(Number(seen.output.split('\n')[0]) < 10, seen.output);
    assert.ok(!seen.output.includes('sees-host'));
    // Even by its host pid, another server's init is out of reach.
    const signal = await fixture.exec(a.id, `kill -0 ${initPid(b)} 2>&1; kill -0 ${process.pid} 2>&1; echo done`);
    assert.match(signal.output, /No such process[\s\S]*No such process[\s\S]*done/);
  });

  it('gives a moved data volume\'s files to its new server, keeping their owners inside', async () => {
    await fixture.host.servers.stop(a.id, { timeoutMs: 5000 });
    await fixture.host.servers.stop(b.id, { timeoutMs: 5000 });
    const moved = { ...b, volumes: [{ volumeId: data, mountPath: '/moved' }] };
    await fixture.host.servers.start(moved);
    const listing = await fixture.exec(b.id, 'ls -ln /moved/by-root /moved/by-nimbus; touch /moved/by-b');
    assert.equal(listing.exitCode, 0, listing.output);
    assert.match(listing.output, /0\s+0 .*by-root/);
    assert.match(listing.output, /1000\s+1000 .*by-nimbus/);
    assert.equal(statSync(path.join(fixture.root, 'mounts', data, 'by-nimbus')).uid, hostIdOf(b) + 1000);
    assert.equal(statSync(path.join(fixture.root, 'mounts', data)).uid, hostIdOf(b));
  });

  it('makes images from a server\'s files with the ids inside the server, not the host\'s', async () => {
    await fixture.host.servers.stop(b.id, { timeoutMs: 5000 });
    const snapshotId = randomUUID();
    await fixture.host.volumes.snapshot(a.rootVolumeId, snapshotId);
    const imageId = randomUUID();
    await fixture.host.images.fromSnapshot(imageId, snapshotId, a.imageId);
    const rootfs = path.join(fixture.root, 'images', imageId, 'rootfs');
    assert.equal(statSync(path.join(rootfs, 'root', 'by-root')).uid, 0);
    assert.equal(statSync(path.join(rootfs, 'tmp', 'by-nimbus')).uid, 1000);
    await fixture.host.volumes.removeSnapshot(snapshotId);
  });
});
