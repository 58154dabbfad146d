import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ComputeRejected, type ServerSpec } from '../../../src/backends/compute-host.ts';
import { containerName, hostVethName, netnsName } from '../../../src/backends/names.ts';
import { BackendFixture, MiB, SKIP_REASON } from './fixture.ts';

describe('runc host: servers', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let server: ServerSpec;
  let dataVolume: string;

  before(async () => {
    fixture = new BackendFixture();
    dataVolume = await fixture.volume(32 * MiB);
    server = await fixture.server({
      network: fixture.network(),
      hostNumber: 10,
      hostname: 'web-1',
      vcpus: 2,
      memoryBytes: 96 * MiB,
      volumes: [{ volumeId: dataVolume, mountPath: '/srv/data' }],
    });
  });

  after(async () => {
    await fixture?.dispose();
  });

  it('starts a server from the built-in image (twice is once)', async () => {
    assert.equal(await fixture.host.servers.state(server.id), 'stopped');
    await fixture.host.servers.start(server);
    await fixture.host.servers.start(server);
    assert.equal(await fixture.host.servers.state(server.id), 'running');
  });

  it('runs commands with the hostname, environment and user asked for', async () => {
    const hostname = await fixture.exec(server.id, 'hostname');
    assert.equal(hostname.exitCode, 0);
    assert.equal(hostname.output, 'web-1\n');
    const greeting = await fixture.exec(server.id, 'echo "$GREETING from $(whoami)"', { env: { GREETING: 'hello world' } });
    assert.equal(greeting.output, 'hello world from root\n');
    const user = await fixture.exec(server.id, 'id -u; id -g; pwd; echo $HOME', { username: 'nimbus' });
    assert.equal(user.output, '1000\n1000\n/home/nimbus\n/home/nimbus\n');
    const group = await fixture.exec(server.id, 'id -g', { username: 'nimbus', groupname: 'nogroup' });
    assert.equal(group.output, '65534\n');
    await assert.rejects(fixture.exec(server.id, 'true', { username: 'mallory' }), ComputeRejected);
    await assert.rejects(fixture.exec(server.id, 'true', { env: { 'NOT-A-NAME': 'x' } }), ComputeRejected);
  });

  it('streams stdout and stderr in the order they were written, with the exit code', async () => {
    const chunks: string[] = [];
    const result = await fixture.host.servers.exec(server.id, {
      line: 'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.1; done; exit 3',
      onOutput: async (chunk) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        chunks.push(chunk);
      },
    });
    assert.equal(result.exitCode, 3);
    assert.ok(chunks.length >= 3, 'output arrives as it is written, not all at the end');
    assert.equal(chunks.join(''), 'out1\nerr1\nout2\nerr2\nout3\nerr3\n');
    assert.ok(result.elapsedMs >= 300);
  });

  it('kills a command when its signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const result = await fixture.host.servers.exec(server.id, { line: 'echo started; sleep 30; echo never', onOutput: () => undefined, signal: controller.signal });
    assert.notEqual(result.exitCode, 0);
    assert.ok(Date.now() - started < 5000, 'the command did not run to its end');
    const processes = await fixture.exec(server.id, 'ps -o args');
    assert.doesNotMatch(processes.output, /sleep 30/);
  });

  it('enforces the plan with cgroup limits', () => {
    const cgroup = containerName(server.id);
    assert.equal(Number(readFileSync(`/sys/fs/cgroup/memory/${cgroup}/memory.limit_in_bytes`, 'utf8')), 96 * MiB);
    assert.equal(Number(readFileSync(`/sys/fs/cgroup/cpu/${cgroup}/cpu.cfs_quota_us`, 'utf8')), 2 * 100_000);
  });

  it('reports facts: hostname, OS, limits, disks and uptime', async () => {
    const facts = await fixture.host.servers.facts(server.id);
    assert.equal(facts.hostname, 'web-1');
    assert.equal(facts.os.name, 'Nimbus BusyBox');
    assert.match(facts.os.version, /^\d+\.\d+/);
    assert.equal(facts.cpu.count, 2);
    assert.equal(facts.memoryBytes, 96 * MiB);
    assert.deepEqual(facts.disks.map((disk) => disk.mountPath), ['/', '/srv/data']);
    assert.ok(facts.disks[1].sizeBytes > 20 * MiB && facts.disks[1].sizeBytes <= 32 * MiB);
    assert.ok(facts.uptimeSeconds >= 0 && facts.uptimeSeconds < 120);
    assert.ok(Math.abs(Date.parse(facts.bootTime) - Date.now()) < 120_000);
  });

  it('keeps the root volume and attached volumes across stop and start', async () => {
    await fixture.exec(server.id, 'echo on-root > /root/note; echo on-data > /srv/data/note; rm /etc/profile');
    const stopping = Date.now();
    await fixture.host.servers.stop(server.id, { timeoutMs: 10_000 });
    assert.ok(Date.now() - stopping < 5000, 'the init stops on SIGTERM, no waiting for the timeout');
    await fixture.host.servers.stop(server.id, { timeoutMs: 10_000 });
    assert.equal(await fixture.host.servers.state(server.id), 'stopped');
    await assert.rejects(fixture.exec(server.id, 'true'), ComputeRejected);

    await fixture.host.servers.start(server);
    const notes = await fixture.exec(server.id, 'cat /root/note /srv/data/note; test -e /etc/profile || echo profile-gone');
    assert.equal(notes.output, 'on-root\non-data\nprofile-gone\n');
  });

  it('refuses a bad spec before touching anything', async () => {
    await assert.rejects(fixture.host.servers.start({ ...server, hostname: 'bad host' }), ComputeRejected);
    await assert.rejects(fixture.host.servers.start({ ...server, address: '192.0.2.4' }), ComputeRejected);
    await assert.rejects(fixture.host.servers.start({ ...server, volumes: [{ volumeId: dataVolume, mountPath: '/a/../etc' }] }), ComputeRejected);
    assert.equal(await fixture.host.servers.state(server.id), 'running');
  });

  it('undoes its own work when a start fails half-way', async () => {
    // runc refuses a mount over /proc, after the volumes are mounted and the network wired.
    const failing = await fixture.server({ network: server.network, hostNumber: 11, volumes: [{ volumeId: await fixture.volume(16 * MiB), mountPath: '/proc/sneaky' }] });
    await assert.rejects(fixture.host.servers.start(failing), /did not start/);
    assert.equal(await fixture.host.servers.state(failing.id), 'stopped');
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.doesNotMatch(mountinfo, new RegExp(`${failing.id}|${failing.rootVolumeId}|${failing.volumes[0].volumeId}`));
    const leftovers = fixture.leftovers().filter((thing) => thing.includes(failing.id) || thing.includes(failing.id.replace(/-/g, '').slice(0, 12)));
    assert.deepEqual(leftovers.filter((thing) => !thing.startsWith('file: ')), []);
    await fixture.host.servers.remove(failing.id);
    await fixture.host.volumes.remove(failing.rootVolumeId);
    await fixture.host.volumes.remove(failing.volumes[0].volumeId);
  });

  it('starts again a server whose start was cut short after runc ran, before its network was wired', async () => {
    // What a Nimbus killed there leaves: the container running, its netns unnamed on the host,
    // no veth pair, no init.pid.
    const cut = await fixture.server({ network: server.network, hostNumber: 12 });
    await fixture.host.servers.start(cut);
    execFileSync('ip', ['netns', 'delete', netnsName(cut.id)]);
    execFileSync('ip', ['link', 'delete', hostVethName(cut.id)]);
    rmSync(path.join(fixture.root, 'servers', cut.id, 'init.pid'));
    assert.equal(await fixture.host.servers.state(cut.id), 'stopped', 'a container never wired is no running server');

    await fixture.host.servers.start(cut);
    assert.equal(await fixture.host.servers.state(cut.id), 'running');
    const addresses = await fixture.exec(cut.id, 'ip -o -4 addr show eth0');
    assert.match(addresses.output, new RegExp(`${cut.address.replace(/\./g, '\\.')}/`));
    await fixture.host.servers.remove(cut.id);
    await fixture.host.volumes.remove(cut.rootVolumeId);
  });

  it('removes the server, its volumes and image leaving nothing on the host', async () => {
    await fixture.host.servers.remove(server.id);
    await fixture.host.servers.remove(server.id);
    assert.equal(await fixture.host.servers.state(server.id), 'missing');
    await fixture.host.volumes.remove(server.rootVolumeId);
    await fixture.host.volumes.remove(dataVolume);
    await fixture.host.images.remove(server.imageId);
    assert.deepEqual(fixture.leftovers(), []);
  });
});
