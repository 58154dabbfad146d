import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { actorFor, addOrganization, addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { BUILTIN_IMAGE } from '../native/compute/support.ts';
import { accountToken, assertScalewayError, followTask, PREFIX, scw } from './support.ts';

/** Seed 003's examples and rules, and every row of reference/scaleway.md, through /compat/scaleway/. */

const SCALEWAY_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;
const UUID = /^[0-9a-f-]{36}$/;
const MB = 1_000_000;
const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`Scaleway surface conformance [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let token: string;
    let organization: string;
    let sub: string;
    let strangerToken: string;
    let viewerToken: string;

    // Acme's owner works in Acme and its Branch; Elsewhere is a sibling organization it cannot reach.
    before(async () => {
      app = await startComputeTestApp(database);
      organization = await addOrganization(app, 'Acme');
      const owner = await addUser(app, 'acme-owner', { role: 'owner', organization });
      token = await accountToken(app, 'acme-owner', GOOD_PASSWORD);
      sub = await addOrganization(app, 'Branch', { token: owner.session });
      await addUser(app, 'stranger', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') });
      strangerToken = await accountToken(app, 'stranger', GOOD_PASSWORD);
      await addUser(app, 'watcher', { role: 'viewer', organization });
      viewerToken = await accountToken(app, 'watcher', GOOD_PASSWORD);
    });
    after(async () => {
      await app?.close();
    });

    async function availableVolume(name: string, size = 50 * MB, as = token): Promise<string> {
      const res = await scw(app, { method: 'POST', url: '/volumes', token: as, payload: { name, size, volume_type: 'l_ssd' } });
      assert.equal(res.statusCode, 201, res.body);
      const { id } = res.json().volume;
      for (let i = 0; i < 300; i++) {
        if ((await scw(app, { url: `/volumes/${id}`, token: as })).json().volume.state === 'available') return id;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`volume ${id} was not made`);
    }

    describe('account', () => {
      it('POST /tokens: email or user name and password -> 201 {token}, whose id is what X-Auth-Token carries', async () => {
        const res = await scw(app, { method: 'POST', url: '/tokens', payload: { username: 'acme-owner', password: GOOD_PASSWORD, expires: true, description: 'cli' } });
        assert.equal(res.statusCode, 201, res.body);
        const { token: created } = res.json();
        assert.deepEqual(Object.keys(created).sort(), ['creation_date', 'description', 'expires', 'id', 'inherits_user_perms', 'roles', 'user_id']);
        assert.match(created.id, UUID);
        assert.equal(created.description, 'cli');
        assert.match(created.expires, SCALEWAY_TIME);
        assert.match(created.creation_date, SCALEWAY_TIME);
        assert.equal(created.roles.organization.id, organization);
        assert.equal(created.roles.role, 'manager');
        assert.equal(created.inherits_user_perms, true);
        assert.equal((await scw(app, { url: '/servers', token: created.id })).statusCode, 200);
        // The token answers for itself, named by its id.
        const shown = await scw(app, { url: `/tokens/${created.id}`, token: created.id });
        assert.equal(shown.statusCode, 200, shown.body);
        assert.equal(shown.json().token.id, created.id);
      });

      it('expires: false never expires; the answer says so with a null expiry', async () => {
        const res = await scw(app, { method: 'POST', url: '/tokens', payload: { username: 'acme-owner', password: GOOD_PASSWORD, expires: false } });
        assert.equal(res.json().token.expires, null);
      });

      it('GET /tokens lists the caller\'s tokens; PATCH changes one; DELETE revokes it (204) and it no longer authenticates', async () => {
        const second = await accountToken(app, 'acme-owner', GOOD_PASSWORD, true);
        const list = await scw(app, { url: '/tokens', token });
        assert.equal(list.statusCode, 200);
        const ids = list.json().tokens.map((t: { id: string }) => t.id);
        assert.ok(ids.length >= 2);
        // The legacy CLI checks a login by finding the token it sent in this list; no other secret is shown.
        assert.ok(ids.includes(token));
        assert.ok(!ids.includes(second));
        const patched = await scw(app, { method: 'PATCH', url: `/tokens/${second}`, token, payload: { expires: false, description: 'kept' } });
        assert.equal(patched.statusCode, 200, patched.body);
        assert.equal(patched.json().token.expires, null);
        assert.equal(patched.json().token.description, 'kept');
        const deleted = await scw(app, { method: 'DELETE', url: `/tokens/${second}`, token });
        assert.equal(deleted.statusCode, 204);
        assertScalewayError(await scw(app, { url: '/servers', token: second }), 401, 'invalid_auth');
        // Someone else's token is not there.
        assertScalewayError(await scw(app, { url: `/tokens/${token}`, token: strangerToken }), 404, 'unknown_resource');
      });

      it('POST /tokens with a wrong password is a 401 invalid_auth; without one a 400 naming the field', async () => {
        assertScalewayError(await scw(app, { method: 'POST', url: '/tokens', payload: { email: 'admin@example.org', password: 'nope' } }), 401, 'invalid_auth');
        const missing = assertScalewayError(await scw(app, { method: 'POST', url: '/tokens', payload: { email: 'admin@example.org' } }), 400, 'invalid_request_error');
        assert.deepEqual(missing.fields, { password: ['required key not provided'] });
      });

      it('GET /organizations lists the organizations with their users; GET /users/:id shows one', async () => {
        const res = await scw(app, { url: '/organizations', token });
        assert.equal(res.statusCode, 200);
        const found = res.json().organizations;
        assert.ok(found.some((o: { id: string }) => o.id === sub));
        const own = found.find((o: { id: string }) => o.id === organization);
        const admin = own.users.find((u: { fullname: string }) => u.fullname === 'acme-owner');
        assert.deepEqual(Object.keys(admin).sort(), ['creation_date', 'email', 'firstname', 'fullname', 'id', 'lastname', 'modification_date', 'organizations', 'roles', 'ssh_public_keys']);
        const user = await scw(app, { url: `/users/${admin.id}`, token });
        assert.equal(user.statusCode, 200);
        assert.equal(user.json().user.id, admin.id);
        assert.deepEqual(user.json().user.organizations, [{ id: organization, name: own.name }]);
        assert.ok(!(await scw(app, { url: '/organizations', token: strangerToken })).json().organizations.some((o: { id: string }) => o.id === organization));
      });
    });

    describe('conventions', () => {
      it('seed: a request without X-Auth-Token is a 401 {"message": "The header \'X-Auth-Token\' is missing", "type": "invalid_auth"}', async () => {
        const res = await scw(app, { url: '/volumes' });
        assert.deepEqual(assertScalewayError(res, 401, 'invalid_auth'), { message: "The header 'X-Auth-Token' is missing", type: 'invalid_auth' });
        assertScalewayError(await scw(app, { url: '/volumes', token: '4e0b46e4-7c1d-44d4-8ba6-dc5f80694397' }), 401, 'invalid_auth');
        // Only X-Auth-Token: another platform's carrier is not Scaleway's.
        const other = await app.request({ method: 'GET', url: `${PREFIX}/volumes` });
        assertScalewayError(other, 401, 'invalid_auth');
      });

      it('seed: GET /volumes answers {"volumes": [...]} with export_uri, id, name, organization, server, size and volume_type', async () => {
        const id = await availableVolume('volume-0-1', 20 * MB);
        const res = await scw(app, { url: '/volumes', token });
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        const volume = res.json().volumes.find((v: { id: string }) => v.id === id);
        assert.deepEqual(
          { export_uri: volume.export_uri, id: volume.id, name: volume.name, organization: volume.organization, server: volume.server, size: volume.size, volume_type: volume.volume_type },
          { export_uri: null, id, name: 'volume-0-1', organization, server: null, size: 20 * MB, volume_type: 'l_ssd' },
        );
        assert.match(volume.creation_date, SCALEWAY_TIME);
        assert.match(volume.modification_date, SCALEWAY_TIME);
        const one = await scw(app, { url: `/volumes/${id}`, token });
        assert.equal(one.json().volume.id, id);
      });

      it('lists page with page and per_page (default 50, at most 100), the total in X-Total-Count and a Link header', async () => {
        for (let i = 0; i < 3; i++) await scw(app, { method: 'POST', url: '/volumes', token, payload: { name: `paged-${i}`, size: 20 * MB } });
        const all = await scw(app, { url: '/volumes', token });
        const total = Number(all.headers['x-total-count']);
        assert.equal(all.json().volumes.length, total);
        assert.ok(total >= 4);
        const page2 = await scw(app, { url: '/volumes?per_page=2&page=2', token });
        assert.equal(page2.statusCode, 200);
        assert.equal(page2.json().volumes.length, 2);
        assert.equal(page2.headers['x-total-count'], String(total));
        const link = String(page2.headers.link);
        const last = Math.ceil(total / 2);
        assert.match(link, new RegExp(`<http://localhost:80${PREFIX}/volumes\\?per_page=2&page=1>; rel="first"`));
        assert.match(link, /page=1>; rel="previous"/);
        if (last > 2) assert.match(link, /page=3>; rel="next"/);
        assert.match(link, new RegExp(`page=${last}>; rel="last"`));
        const beyond = await scw(app, { url: '/volumes?page=99', token });
        assert.equal(beyond.statusCode, 200);
        assert.deepEqual(beyond.json().volumes, []);
        assert.equal(beyond.headers['x-total-count'], String(total));
        const tooMany = assertScalewayError(await scw(app, { url: '/volumes?per_page=101', token }), 400, 'invalid_request_error');
        assert.deepEqual(tooMany.fields, { per_page: ['value must be at most 100'] });
      });

      it('answers HEAD on every list and item: the headers (X-Total-Count for lists) without a body', async () => {
        const server = (await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'headed', image: BUILTIN_IMAGE } })).json().server;
        for (const path of ['/servers', `/servers/${server.id}`, '/volumes', `/volumes/${server.volumes['0'].id}`, '/snapshots', '/images', `/images/${BUILTIN_IMAGE}`, '/tasks', '/tokens', '/organizations', `/servers/${server.id}/action`, `/servers/${server.id}/user_data`, '/products/servers']) {
          const head = await scw(app, { method: 'HEAD', url: path, token });
          assert.equal(head.statusCode, 200, `HEAD ${path}: ${head.statusCode}`);
          assert.equal(head.body, '', path);
        }
        const head = await scw(app, { method: 'HEAD', url: '/servers', token });
        const get = await scw(app, { url: '/servers', token });
        assert.equal(head.headers['x-total-count'], get.headers['x-total-count']);
        assert.equal(head.headers['x-total-count'], String(get.json().servers.length));
        assert.equal((await scw(app, { method: 'HEAD', url: '/servers' })).statusCode, 401);
        assert.equal((await scw(app, { method: 'HEAD', url: '/servers/f929fe39-63f8-4be8-a80e-1e9c8ae22a76', token })).statusCode, 404);
      });

      it('errors are typed {type, message, fields} with Scaleway\'s status per type', async () => {
        const validation = assertScalewayError(await scw(app, { method: 'POST', url: '/volumes', token, payload: { name: 3, size: 'big', colour: 'red' } }), 400, 'invalid_request_error');
        assert.equal(validation.message, 'Validation Error');
        assert.deepEqual(validation.fields, { name: ['expected str'], size: ['expected int'], colour: ['extra keys not allowed'] });
        const missing = assertScalewayError(await scw(app, { url: '/servers/f929fe39-63f8-4be8-a80e-1e9c8ae22a76', token }), 404, 'unknown_resource');
        assert.equal(missing.message, '"f929fe39-63f8-4be8-a80e-1e9c8ae22a76" not found');
        assertScalewayError(await scw(app, { method: 'POST', url: '/volumes', token: viewerToken, payload: { name: 'v', size: 20 * MB } }), 403, 'authorization_required');
        assertScalewayError(await scw(app, { url: '/no-such-collection', token }), 404, 'unknown_resource');
        const broken = assertScalewayError(await scw(app, { method: 'POST', url: '/volumes', token, payload: '{"name": ', headers: { 'content-type': 'application/json' } }), 400, 'invalid_request_error');
        assert.match(broken.message, /JSON/);
        assertScalewayError(await scw(app, { method: 'POST', url: '/volumes', token, payload: 'name=v', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'invalid_request_error');
        // A root volume goes with its server: a conflict.
        const server = (await scw(app, { url: '/servers', token })).json().servers[0];
        assertScalewayError(await scw(app, { method: 'DELETE', url: `/volumes/${server.volumes['0'].id}`, token }), 409, 'conflict');
      });

      it("names the acting organization with ?organization= or the body's organization; a foreign one is a 404", async () => {
        const made = await scw(app, { method: 'POST', url: '/volumes', token, payload: { name: 'in-branch', size: 20 * MB, organization: sub } });
        assert.equal(made.statusCode, 201, made.body);
        assert.equal(made.json().volume.organization, sub);
        const inSub = (await scw(app, { url: `/volumes?organization=${sub}`, token })).json().volumes;
        assert.deepEqual(inSub.map((v: { name: string }) => v.name), ['in-branch']);
        const elsewhere = (await scw(app, { url: '/organizations', token: strangerToken })).json().organizations[0].id;
        const foreign = assertScalewayError(await scw(app, { url: `/volumes?organization=${elsewhere}`, token }), 404, 'unknown_resource');
        assert.equal(foreign.message, `"${elsewhere}" not found`);
        assertScalewayError(await scw(app, { method: 'POST', url: '/volumes', token, payload: { name: 'x', size: 20 * MB, organization: elsewhere } }), 404, 'unknown_resource');
      });
    });

    describe('compute', () => {
      let server: { id: string; [key: string]: any };
      let data: string;

      it('POST /servers with image, commercial_type, tags and a volumes map of ids and new volumes -> 201 {server}', async () => {
        data = await availableVolume('data-disk');
        const res = await scw(app, {
          method: 'POST',
          url: '/servers',
          token,
          payload: { name: 'web-1', image: BUILTIN_IMAGE, commercial_type: 'VC1S', organization, tags: ['web', 'prod'], volumes: { '0': { size: 2_000_000_000 }, '1': data, '2': { name: 'scratch', size: 30 * MB, volume_type: 'l_ssd' } } },
        });
        assert.equal(res.statusCode, 201, res.body);
        server = res.json().server;
        for (const field of ['id', 'name', 'arch', 'commercial_type', 'creation_date', 'modification_date', 'image', 'volumes', 'public_ip', 'private_ip', 'state', 'state_detail', 'hostname', 'tags', 'organization', 'security_group', 'enable_ipv6']) {
          assert.ok(field in server, `server.${field}`);
        }
        assert.equal(server.commercial_type, 'VC1S');
        assert.equal(server.arch, 'x86_64');
        assert.deepEqual(server.image, { id: BUILTIN_IMAGE, name: 'busybox', arch: 'x86_64' });
        assert.deepEqual(Object.keys(server.volumes), ['0', '1', '2']);
        assert.equal(server.volumes['0'].size, 2_000_000_000);
        assert.equal(server.volumes['1'].id, data);
        assert.deepEqual(server.volumes['1'].server, { id: server.id, name: 'web-1' });
        assert.equal(server.volumes['2'].name, 'scratch');
        assert.equal(server.state, 'stopped');
        assert.equal(server.hostname, 'web-1');
        assert.deepEqual(server.tags, ['web', 'prod']);
        assert.equal(server.organization, organization);
        assert.match(server.creation_date, SCALEWAY_TIME);
        const plan = await app.nimbus.services.compute.servers.get(await actorFor(app, app.token), server.id);
        assert.deepEqual({ vcpus: plan.vcpus, memory: plan.memory_bytes }, { vcpus: 2, memory: 2 * 1024 ** 3 });
        const attached = (await scw(app, { url: `/volumes/${data}`, token })).json().volume;
        assert.deepEqual(attached.server, { id: server.id, name: 'web-1' });
      });

      it('lists servers filtered by state, name and tags; shows one; PATCH changes name, hostname and tags', async () => {
        const byName = (await scw(app, { url: '/servers?name=web-1', token })).json().servers;
        assert.deepEqual(byName.map((s: { id: string }) => s.id), [server.id]);
        assert.ok((await scw(app, { url: '/servers?state=stopped&tags=web,prod', token })).json().servers.some((s: { id: string }) => s.id === server.id));
        assert.ok(!(await scw(app, { url: '/servers?tags=web,staging', token })).json().servers.some((s: { id: string }) => s.id === server.id));
        // Tags narrow the list before it is paged: the total and the first page count tagged servers only.
        const firstTagged = await scw(app, { url: '/servers?tags=web&per_page=1', token });
        assert.equal(firstTagged.headers['x-total-count'], '1');
        assert.deepEqual(firstTagged.json().servers.map((s: { id: string }) => s.id), [server.id]);
        assert.ok(!(await scw(app, { url: '/servers?state=running', token })).json().servers.some((s: { id: string }) => s.id === server.id));
        assertScalewayError(await scw(app, { url: '/servers?state=melting', token }), 400, 'invalid_request_error');
        const patched = await scw(app, { method: 'PATCH', url: `/servers/${server.id}`, token, payload: { name: 'web-one', hostname: 'web-one-host', tags: ['web'] } });
        assert.equal(patched.statusCode, 200, patched.body);
        assert.equal(patched.json().server.name, 'web-one');
        assert.equal(patched.json().server.hostname, 'web-one-host');
        assert.deepEqual(patched.json().server.tags, ['web']);
        assert.equal((await scw(app, { url: `/servers/${server.id}`, token })).json().server.name, 'web-one');
      });

      it('keeps user_data key/values: PATCH text/plain (204), GET the keys and a value, DELETE', async () => {
        const base = `/servers/${server.id}/user_data`;
        const set = await scw(app, { method: 'PATCH', url: `${base}/cloud-init`, token, payload: '#!/bin/sh\necho hi\n', headers: { 'content-type': 'text/plain' } });
        assert.equal(set.statusCode, 204, set.body);
        assert.deepEqual((await scw(app, { url: base, token })).json(), { user_data: ['cloud-init'] });
        const value = await scw(app, { url: `${base}/cloud-init`, token });
        assert.equal(value.statusCode, 200);
        assert.match(String(value.headers['content-type']), /^text\/plain/);
        assert.equal(value.body, '#!/bin/sh\necho hi\n');
        assert.equal((await scw(app, { method: 'DELETE', url: `${base}/cloud-init`, token })).statusCode, 204);
        assert.equal(assertScalewayError(await scw(app, { url: `${base}/cloud-init`, token }), 404, 'unknown_resource').message, '"cloud-init" not found');
        assertScalewayError(await scw(app, { method: 'PATCH', url: `${base}/cloud-init`, token: strangerToken, payload: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'unknown_resource');
      });

      it('GET /servers/:id/action lists the actions; POST answers 202 {task} followed pending -> started -> success', async () => {
        assert.deepEqual((await scw(app, { url: `/servers/${server.id}/action`, token })).json(), { actions: ['poweron', 'terminate', 'backup'] });
        const res = await scw(app, { method: 'POST', url: `/servers/${server.id}/action`, token, payload: { action: 'poweron' } });
        assert.equal(res.statusCode, 202, res.body);
        const { task } = res.json();
        assert.equal(task.description, 'server_batch_poweron');
        assert.ok(['pending', 'started'].includes(task.status));
        assert.equal(task.href_from, `http://localhost:80${PREFIX}/servers/${server.id}/action`);
        assert.equal(res.headers.location, `http://localhost:80${PREFIX}/tasks/${task.id}`);
        assert.equal(task.href_result, `http://localhost:80${PREFIX}/servers/${server.id}`);
        assert.match(task.started_at, SCALEWAY_TIME);
        const done = await followTask(app, token, task.id);
        assert.equal(done.status, 'success');
        assert.equal(done.progress, 100);
        assert.match(String(done.terminated_at), SCALEWAY_TIME);
        assert.equal((await scw(app, { url: `/servers/${server.id}`, token })).json().server.state, 'running');
        assert.ok((await scw(app, { url: '/tasks', token })).json().tasks.some((t: { id: string }) => t.id === task.id));
      });

      it('refuses a wrong-state action, DELETE of a running server and a volume change while running, as Scaleway does (400)', async () => {
        const again = assertScalewayError(await scw(app, { method: 'POST', url: `/servers/${server.id}/action`, token, payload: { action: 'poweron' } }), 400, 'invalid_request_error');
        assert.equal(again.message, 'server should be stopped');
        assert.equal(assertScalewayError(await scw(app, { method: 'DELETE', url: `/servers/${server.id}`, token }), 400, 'invalid_request_error').message, 'server should be stopped');
        assertScalewayError(await scw(app, { method: 'PATCH', url: `/servers/${server.id}`, token, payload: { volumes: { '0': server.volumes['0'].id } } }), 400, 'invalid_request_error');
        // Core names what refused: the volume, which must be detached (available), or have failed.
        assert.equal(assertScalewayError(await scw(app, { method: 'DELETE', url: `/volumes/${data}`, token }), 400, 'invalid_request_error').message, 'volume should be available or error');
        const unknown = assertScalewayError(await scw(app, { method: 'POST', url: `/servers/${server.id}/action`, token, payload: { action: 'explode' } }), 400, 'invalid_request_error');
        assert.ok(unknown.fields?.action);
      });

      it('detaches and attaches through the volumes map of a stopped server; a detached volume is deleted (204)', async () => {
        await followTask(app, token, (await scw(app, { method: 'POST', url: `/servers/${server.id}/action`, token, payload: { action: 'poweroff' } })).json().task.id);
        const keep = { '0': server.volumes['0'].id, '2': server.volumes['2'].id };
        const res = await scw(app, { method: 'PATCH', url: `/servers/${server.id}`, token, payload: { volumes: keep } });
        assert.equal(res.statusCode, 200, res.body);
        let volume: any;
        for (let i = 0; i < 100 && (volume = (await scw(app, { url: `/volumes/${data}`, token })).json().volume).server !== null; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(volume.server, null);
        assert.deepEqual(Object.keys((await scw(app, { url: `/servers/${server.id}`, token })).json().server.volumes), ['0', '2']);
        const back = await scw(app, { method: 'PATCH', url: `/servers/${server.id}`, token, payload: { volumes: { ...keep, '3': data } } });
        assert.equal(back.statusCode, 200, back.body);
        assert.equal(back.json().server.volumes['3'].id, data);
        await scw(app, { method: 'PATCH', url: `/servers/${server.id}`, token, payload: { volumes: keep } });
        for (let i = 0; i < 100 && (await scw(app, { url: `/volumes/${data}`, token })).json().volume.server !== null; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal((await scw(app, { method: 'DELETE', url: `/volumes/${data}`, token })).statusCode, 204);
      });

      it('snapshots a volume and makes an image from the root volume\'s snapshot', async () => {
        const snap = await scw(app, { method: 'POST', url: '/snapshots', token, payload: { volume_id: server.volumes['0'].id, name: 'root-snap', organization } });
        assert.equal(snap.statusCode, 201, snap.body);
        const snapshot = snap.json().snapshot;
        assert.deepEqual(snapshot.base_volume, { id: server.volumes['0'].id, name: server.volumes['0'].name });
        assert.equal(snapshot.volume_type, 'l_ssd');
        for (let i = 0; i < 300 && (await scw(app, { url: `/snapshots/${snapshot.id}`, token })).json().snapshot.state !== 'available'; i++) await new Promise((r) => setTimeout(r, 100));
        const img = await scw(app, { method: 'POST', url: '/images', token, payload: { root_volume: snapshot.id, name: 'golden', arch: 'x86_64', organization } });
        assert.equal(img.statusCode, 201, img.body);
        assert.equal(img.json().image.root_volume.id, snapshot.id);
        assert.equal(img.json().image.public, false);
        assert.ok((await scw(app, { url: '/images', token })).json().images.some((i: { id: string }) => i.id === img.json().image.id));
        const wrong = assertScalewayError(await scw(app, { method: 'POST', url: '/images', token, payload: { root_volume: '3f1e1a52-8a0e-4c8f-9d0e-6a5c3e2b1a00', name: 'x' } }), 400, 'invalid_request_error');
        assert.ok(wrong.fields?.root_volume, JSON.stringify(wrong));
      });

      it('backup: 202 {task} that snapshots every volume and makes an image from the root volume\'s snapshot', async () => {
        const action = `/servers/${server.id}/action`;
        const count = async (url: string) => (await scw(app, { method: 'HEAD', url, token })).headers['x-total-count'];
        const before = { images: await count('/images'), snapshots: await count('/snapshots') };
        // Refused before anything is recorded: a viewer may not, another organization's server is not there, a bad name is a 400.
        assertScalewayError(await scw(app, { method: 'POST', url: action, token: viewerToken, payload: { action: 'backup' } }), 403, 'authorization_required');
        assertScalewayError(await scw(app, { method: 'POST', url: action, token: strangerToken, payload: { action: 'backup' } }), 404, 'unknown_resource');
        assertScalewayError(await scw(app, { method: 'POST', url: action, token, payload: { action: 'backup', name: ' ' } }), 400, 'invalid_request_error');
        assert.deepEqual({ images: await count('/images'), snapshots: await count('/snapshots') }, before);

        const res = await scw(app, { method: 'POST', url: action, token, payload: { action: 'backup', name: 'nightly' } });
        assert.equal(res.statusCode, 202, res.body);
        const { task } = res.json();
        assert.equal(task.href_from, `http://localhost:80${PREFIX}${action}`);
        const imageId = /\/images\/([0-9a-f-]{36})$/.exec(task.href_result)?.[1];
        assert.ok(imageId, task.href_result);
        assert.equal((await followTask(app, token, task.id)).status, 'success');
        const image = (await scw(app, { url: `/images/${imageId}`, token })).json().image;
        assert.equal(image.name, 'nightly');
        const taken = (await scw(app, { url: '/snapshots', token })).json().snapshots.filter((s: { name: string }) => s.name.startsWith('nightly '));
        assert.deepEqual(taken.map((s: { base_volume: { id: string } }) => s.base_volume.id).sort(), [server.volumes['0'].id, server.volumes['2'].id].sort());
        assert.ok(taken.every((s: { state: string }) => s.state === 'available'), JSON.stringify(taken));
        assert.equal(image.root_volume.id, taken.find((s: { base_volume: { id: string } }) => s.base_volume.id === server.volumes['0'].id).id);
        // The image boots a server.
        const booted = await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'from-backup', image: imageId } });
        assert.equal(booted.statusCode, 201, booted.body);
        const gone = await scw(app, { method: 'POST', url: `/servers/${booted.json().server.id}/action`, token, payload: { action: 'terminate' } });
        assert.equal((await followTask(app, token, gone.json().task.id)).status, 'success');
      });

      it('terminate stops the server and deletes it with its volumes; DELETE of a stopped server is a 204', async () => {
        const res = await scw(app, { method: 'POST', url: `/servers/${server.id}/action`, token, payload: { action: 'terminate' } });
        assert.equal(res.statusCode, 202, res.body);
        assert.equal((await followTask(app, token, res.json().task.id)).status, 'success');
        assertScalewayError(await scw(app, { url: `/servers/${server.id}`, token }), 404, 'unknown_resource');
        assertScalewayError(await scw(app, { url: `/volumes/${server.volumes['2'].id}`, token }), 404, 'unknown_resource');
        const plain = (await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'short-lived', image: BUILTIN_IMAGE } })).json().server;
        for (let i = 0; i < 300 && (await scw(app, { url: `/servers/${plain.id}`, token })).json().server.state_detail === 'Being created.'; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal((await scw(app, { method: 'DELETE', url: `/servers/${plain.id}`, token })).statusCode, 204);
      });

      it('GET /products/servers lists the commercial types with their plans and volume limits', async () => {
        const { servers } = (await scw(app, { url: '/products/servers', token })).json();
        assert.deepEqual({ ncpus: servers.VC1S.ncpus, ram: servers.VC1S.ram }, { ncpus: 2, ram: 2 * 1024 ** 3 });
        assert.ok(servers['START1-XS'].volumes_constraint.max_size > 0);
      });
    });

    describe('bad input and tenancy', () => {
      it('refuses unknown fields, wrong types and a volumes map naming a missing volume, creating nothing', async () => {
        const before = (await scw(app, { url: '/servers', token })).headers['x-total-count'];
        const unknown = assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'x', flavour: 'big' } }), 400, 'invalid_request_error');
        assert.deepEqual(unknown.fields, { flavour: ['extra keys not allowed'] });
        const types = assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: { name: ['x'], tags: 'web', commercial_type: 'HUGE' } }), 400, 'invalid_request_error');
        assert.deepEqual(Object.keys(types.fields!).sort(), ['commercial_type', 'name', 'tags']);
        const missing = assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'x', volumes: { '1': '3f1e1a52-8a0e-4c8f-9d0e-6a5c3e2b1a00' } } }), 400, 'invalid_request_error');
        assert.deepEqual(Object.keys(missing.fields!), ['volumes.1']);
        const root = assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'x', volumes: { '0': '3f1e1a52-8a0e-4c8f-9d0e-6a5c3e2b1a00' } } }), 400, 'invalid_request_error');
        assert.deepEqual(Object.keys(root.fields!), ['volumes.0']);
        assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'x', volumes: { '1': { size: 1 } } } }), 400, 'invalid_request_error');
        assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'x', volumes: { nine: { size: 30 * MB } } } }), 400, 'invalid_request_error');
        assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: [] }), 400, 'invalid_request_error');
        assert.equal((await scw(app, { url: '/servers', token })).headers['x-total-count'], before);
      });

      it("another organization's ids are a 404, whatever the method", async () => {
        const theirVolume = await availableVolume('theirs', 20 * MB, strangerToken);
        const theirServer = (await scw(app, { method: 'POST', url: '/servers', token: strangerToken, payload: { name: 'theirs', image: BUILTIN_IMAGE } })).json().server.id;
        for (const [method, url, payload] of [
          ['GET', `/servers/${theirServer}`],
          ['PATCH', `/servers/${theirServer}`, { name: 'mine' }],
          ['DELETE', `/servers/${theirServer}`],
          ['GET', `/servers/${theirServer}/action`],
          ['POST', `/servers/${theirServer}/action`, { action: 'poweron' }],
          ['GET', `/servers/${theirServer}/user_data`],
          ['GET', `/volumes/${theirVolume}`],
          ['PUT', `/volumes/${theirVolume}`, { name: 'mine' }],
          ['DELETE', `/volumes/${theirVolume}`],
        ] as const) {
          const res = assertScalewayError(await scw(app, { method, url, token, payload }), 404, 'unknown_resource');
          assert.match(res.message, /^".+" not found$/, `${method} ${url}`);
        }
        const borrowed = assertScalewayError(await scw(app, { method: 'POST', url: '/servers', token, payload: { name: 'x', volumes: { '1': theirVolume } } }), 400, 'invalid_request_error');
        assert.deepEqual(Object.keys(borrowed.fields!), ['volumes.1']);
        assertScalewayError(await scw(app, { method: 'POST', url: '/snapshots', token, payload: { volume_id: theirVolume, name: 's' } }), 400, 'invalid_request_error');
        assert.equal((await scw(app, { url: `/servers/${theirServer}`, token: strangerToken })).json().server.name, 'theirs');
      });

      it('a token past its expiry is a 401 invalid_auth', async () => {
        const expiring = await accountToken(app, 'acme-owner', GOOD_PASSWORD, true);
        await app.nimbus.store.db.updateTable('api_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('kind', '=', 'account').where('expires_at', 'is not', null).execute();
        // What this process verified in the last 2 s it still trusts (the credential cache's lifetime).
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        assertScalewayError(await scw(app, { url: '/servers', token: expiring }), 401, 'invalid_auth');
      });
    });
  });
}
