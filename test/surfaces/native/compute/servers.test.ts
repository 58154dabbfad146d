import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addUser, type TestUser } from '../../../support/identity.ts';
import { accepted, action, BUILTIN_IMAGE, get, MIB, shell, waitForTask } from './support.ts';

const SERVERS = '/api/servers/servers/';
const VOLUMES = '/api/storage/volumes/';
const SNAPSHOTS = '/api/storage/snapshots/';
const skip = computeSkipReason();
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

for (const database of testDatabases) {
  describe(`servers, volumes and snapshots [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let server: string;
    let stranger: TestUser;

    before(async () => {
      app = await startComputeTestApp(database);
      stranger = await addUser(app, 'stranger', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') });
    });
    after(async () => {
      await app?.close();
    });

    it('creates a server from the built-in image and starts it', async () => {
      const res = await app.request({ method: 'POST', url: SERVERS, payload: { name: 'Web One', image: BUILTIN_IMAGE, memory: 64 * MIB, start: true, tags: ['web'] } });
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json();
      assert.equal(created.state, 'starting');
      assert.equal(created.hostname, 'web-one');
      assert.deepEqual(created.plan, { vcpus: 1, memory: 64 * MIB });
      assert.equal(res.headers.location, `http://localhost:80${SERVERS}${created.id}/`);
      server = created.id;
      await waitForTask(app, created.task);
      const running = await get(app, `${SERVERS}${server}/`);
      assert.equal(running.state, 'running', running.state_detail);
      assert.match(running.private_ip, /^10\.2\d\d\.\d+\.\d+$/);
      assert.equal(running.is_connected, true);
      assert.equal(running.remote_ip, running.private_ip);
      assert.equal((await shell(app, server, 'hostname')).trim(), 'web-one');
      const image = await get(app, `/api/images/images/${BUILTIN_IMAGE}/`);
      assert.equal(image.status, 'ready');
      assert.equal(image.public, true);
      assert.deepEqual((await get(app, `${SERVERS}${server}/actions/`)).actions, ['poweroff', 'reboot', 'terminate', 'update_information']);
    });

    it('powers off, on and reboots, keeping what the server wrote', async () => {
      await shell(app, server, 'echo kept > /root/mark');
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'shutdown_system' } });
      assert.equal((await get(app, `${SERVERS}${server}/`)).state, 'stopped');
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'poweron' } });
      assert.equal((await get(app, `${SERVERS}${server}/`)).state, 'running');
      assert.equal(await shell(app, server, 'cat /root/mark'), 'kept\n');
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'reboot' } });
      assert.equal((await get(app, `${SERVERS}${server}/`)).state, 'running');
      assert.equal(await shell(app, server, 'cat /root/mark'), 'kept\n');
      const info = await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'update_information' } });
      assert.equal(info.type, 'server.update_information');
      const facts = await get(app, `${SERVERS}${server}/`);
      assert.ok(facts.facts_updated_at);
      assert.ok(facts.cpu_physical_cores >= 1);
    });

    it('refuses actions in the wrong state and a DELETE of a running server, changing nothing', async () => {
      const before = await get(app, `${SERVERS}${server}/`);
      const poweron = await action(app, server, 'poweron');
      assert.equal(poweron.statusCode, 409, poweron.body);
      assert.equal(poweron.json().code, 'invalid_state');
      assert.equal(poweron.json().current, 'running');
      assert.deepEqual(poweron.json().expected, ['stopped', 'error']);
      const unknown = await action(app, server, 'explode');
      assert.equal(unknown.statusCode, 400);
      assert.ok(unknown.json().action);
      const deleting = await app.request({ method: 'DELETE', url: `${SERVERS}${server}/` });
      assert.equal(deleting.statusCode, 409, deleting.body);
      assert.equal(deleting.json().current, 'running');
      const after = await get(app, `${SERVERS}${server}/`);
      assert.equal(after.state, 'running');
      assert.equal(after.updated_at, before.updated_at);
    });

    it('creates, attaches, resizes, snapshots, detaches and deletes volumes by the rules', async () => {
      const volume = (await accepted(app, { method: 'POST', url: VOLUMES, payload: { name: 'data', size: 32 * MIB } })).id;
      assert.equal((await get(app, `${VOLUMES}${volume}/`)).state, 'available');
      const whileRunning = await app.request({ method: 'POST', url: `${VOLUMES}${volume}/attach/`, payload: { server, mount_path: '/data' } });
      assert.equal(whileRunning.statusCode, 409, whileRunning.body);
      assert.equal(whileRunning.json().current, 'running');

      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'poweroff' } });
      const badPath = await app.request({ method: 'POST', url: `${VOLUMES}${volume}/attach/`, payload: { server, mount_path: '../etc' } });
      assert.equal(badPath.statusCode, 400);
      assert.ok(badPath.json().mount_path);
      await accepted(app, { method: 'POST', url: `${VOLUMES}${volume}/attach/`, payload: { server, mount_path: '/data' } });
      const attached = await get(app, `${VOLUMES}${volume}/`);
      assert.equal(attached.state, 'in_use');
      assert.equal(attached.server, server);
      const twice = await app.request({ method: 'POST', url: `${VOLUMES}${volume}/attach/`, payload: { server, mount_path: '/other' } });
      assert.equal(twice.statusCode, 409);
      const deleteAttached = await app.request({ method: 'DELETE', url: `${VOLUMES}${volume}/` });
      assert.equal(deleteAttached.statusCode, 409);
      assert.deepEqual((await get(app, `${SERVERS}${server}/`)).volumes, [{ id: volume, mount_path: '/data' }]);

      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'poweron' } });
      await shell(app, server, 'echo on-volume > /data/file');
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'poweroff' } });
      const shrink = await app.request({ method: 'POST', url: `${VOLUMES}${volume}/resize/`, payload: { size: 16 * MIB } });
      assert.equal(shrink.statusCode, 400);
      await accepted(app, { method: 'POST', url: `${VOLUMES}${volume}/resize/`, payload: { size: 64 * MIB } });
      const grown = await get(app, `${VOLUMES}${volume}/`);
      assert.equal(grown.size, 64 * MIB);
      assert.equal(grown.state, 'in_use');

      const snapshot = (await accepted(app, { method: 'POST', url: SNAPSHOTS, payload: { name: 'snap', volume } })).id;
      assert.equal((await get(app, `${SNAPSHOTS}${snapshot}/`)).state, 'available');
      await accepted(app, { method: 'POST', url: `${VOLUMES}${volume}/detach/` });
      assert.equal((await get(app, `${VOLUMES}${volume}/`)).state, 'available');

      const restored = (await accepted(app, { method: 'POST', url: VOLUMES, payload: { name: 'restored', snapshot } })).id;
      assert.equal((await get(app, `${VOLUMES}${restored}/`)).size, 64 * MIB);
      await accepted(app, { method: 'POST', url: `${VOLUMES}${restored}/attach/`, payload: { server, mount_path: '/restored' } });
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'poweron' } });
      assert.equal(await shell(app, server, 'cat /restored/file'), 'on-volume\n');
      const size = Number((await shell(app, server, "df -k /restored | tail -1 | awk '{print $2}'")).trim());
      assert.ok(size > 40 * 1024, `the grown filesystem came with the snapshot (${size} KiB)`);

      await accepted(app, { method: 'DELETE', url: `${VOLUMES}${volume}/` });
      assert.equal((await app.request({ method: 'GET', url: `${VOLUMES}${volume}/` })).statusCode, 404);
      await accepted(app, { method: 'DELETE', url: `${SNAPSHOTS}${snapshot}/` });
      assert.equal((await app.request({ method: 'GET', url: `${SNAPSHOTS}${snapshot}/` })).statusCode, 404);
    });

    it("hides an organization's servers and volumes from another: 404", async () => {
      const volumes = (await get(app, `${VOLUMES}?type=data`)).results;
      for (const [method, url, payload] of [
        ['GET', `${SERVERS}${server}/`, undefined],
        ['PATCH', `${SERVERS}${server}/`, { name: 'mine' }],
        ['POST', `${SERVERS}${server}/actions/`, { action: 'poweroff' }],
        ['DELETE', `${SERVERS}${server}/`, undefined],
        ['GET', `${VOLUMES}${volumes[0].id}/`, undefined],
        ['POST', `${VOLUMES}${volumes[0].id}/detach/`, undefined],
      ] as const) {
        const res = await app.request({ method, url, payload, token: stranger.session });
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      }
      assert.equal((await get(app, SERVERS, stranger.session)).count, 0);
      assert.equal((await get(app, '/api/images/images/', stranger.session)).results.length, 1, 'only the public image');
    });

    it("keeps an organization's servers from reaching another organization's server", async () => {
      // With forwarding on (as on any host doing NAT), only the firewall keeps the networks apart.
      const forwarding = fs.readFileSync(IP_FORWARD, 'utf8');
      fs.writeFileSync(IP_FORWARD, '1\n');
      try {
        const theirs = await accepted(app, { method: 'POST', url: SERVERS, payload: { name: 'theirs', memory: 64 * MIB, start: true }, token: stranger.session });
        const { private_ip: address } = await get(app, `${SERVERS}${theirs.id}/`, stranger.session);
        const mine = await get(app, `${SERVERS}${server}/`);
        assert.notEqual(address.split('.').slice(0, 3).join('.'), mine.private_ip.split('.').slice(0, 3).join('.'), 'organizations have their own networks');
        const reached = await app.nimbus.services.compute.host.servers.exec(server, { line: `ping -c 1 -W 2 ${address}`, onOutput: () => undefined });
        assert.notEqual(reached.exitCode, 0, "a server reached another organization's server");
        await accepted(app, { method: 'POST', url: `${SERVERS}${theirs.id}/actions/`, payload: { action: 'terminate' }, token: stranger.session });
      } finally {
        fs.writeFileSync(IP_FORWARD, forwarding);
      }
    });

    it('terminates a server: it, its root volume and its container are gone; data volumes are detached', async () => {
      const { root_volume: rootVolume } = await get(app, `${SERVERS}${server}/`);
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'terminate' } });
      assert.equal((await app.request({ method: 'GET', url: `${SERVERS}${server}/` })).statusCode, 404);
      assert.equal((await app.request({ method: 'GET', url: `${VOLUMES}${rootVolume}/` })).statusCode, 404);
      assert.equal(await app.nimbus.services.compute.host.servers.state(server), 'missing');
      const left = (await get(app, VOLUMES)).results;
      assert.deepEqual(left.map((v: any) => [v.name, v.state, v.server]), [['restored', 'available', null]]);
      await accepted(app, { method: 'DELETE', url: `${VOLUMES}${left[0].id}/` });
      const events = (await get(app, `/api/events/events/?resource=server:${server}&page_size=100`)).results.map((e: any) => e.type);
      assert.ok(events.includes('server.created') && events.includes('server.deleted') && events.includes('server.state_changed'), events.join());
    });
  });
}
