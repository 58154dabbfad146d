import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { PREFIX } from './support.ts';

/**
 * `NIMBUS_SCALEWAY_PORT`: the surface alone at the root of a listener of its own, with links
 * that point there, and the same surface still at /compat/scaleway on the main listener.
 */

const skip = computeSkipReason();
const HOST = 'http://localhost:80';

for (const database of testDatabases) {
  describe(`Scaleway surface on its own port [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let own: FastifyInstance;
    let token: string;
    let strangerToken: string;

    const onOwn = (options: InjectOptions & { token?: string }) => own.inject({ ...options, headers: { ...(options.token ? { 'x-auth-token': options.token } : {}), ...options.headers } });
    const onMain = (options: InjectOptions & { token?: string; url: string }) => app.request({ ...options, url: `${PREFIX}${options.url}`, token: null, headers: { ...(options.token ? { 'x-auth-token': options.token } : {}), ...options.headers } });

    before(async () => {
      app = await startComputeTestApp(database, { surfacePorts: { scaleway: 0 } });
      const found = app.nimbus.listeners.own.find((o) => o.surface.name === 'scaleway');
      assert.ok(found, 'the Scaleway surface has a listener of its own');
      own = found.app;
      const organization = await addOrganization(app, 'Portside');
      await addUser(app, 'port-owner', { role: 'owner', organization });
      await addUser(app, 'port-stranger', { role: 'admin', organization: await addOrganization(app, 'Faraway') });
      const created = await onOwn({ method: 'POST', url: '/tokens', payload: { username: 'port-owner', password: GOOD_PASSWORD, expires: false } });
      assert.equal(created.statusCode, 201, created.body);
      token = created.json().token.id;
      strangerToken = (await onOwn({ method: 'POST', url: '/tokens', payload: { username: 'port-stranger', password: GOOD_PASSWORD } })).json().token.id;
    });
    after(async () => {
      await app?.close();
    });

    it('answers at its root: Location, Link and task links point at this port, and the main listener keeps its prefix', async () => {
      const created = await onOwn({ method: 'POST', url: '/volumes', token, payload: { name: 'port-data', size: 50_000_000, volume_type: 'l_ssd' } });
      assert.equal(created.statusCode, 201, created.body);
      const { id } = created.json().volume;
      assert.equal(created.headers.location, `${HOST}/volumes/${id}`);

      const ownList = await onOwn({ url: '/tasks?per_page=1', token });
      assert.equal(ownList.statusCode, 200, ownList.body);
      assert.match(String(ownList.headers.link), new RegExp(`^<${HOST}/tasks\\?per_page=1&page=1>; rel="first"`));
      const ownTask = ownList.json().tasks.find((t: { href_result: string }) => t.href_result.endsWith(`/volumes/${id}`));
      assert.ok(ownTask, ownList.body);
      assert.equal(ownTask.href_result, `${HOST}/volumes/${id}`);
      assert.equal(ownTask.href_from, `${HOST}/volumes`);

      const mainList = await onMain({ url: '/tasks?per_page=1', token });
      assert.match(String(mainList.headers.link), new RegExp(`^<${HOST}${PREFIX}/tasks\\?per_page=1&page=1>; rel="first"`));
      const mainTask = (await onMain({ url: `/tasks/${ownTask.id}`, token })).json().task;
      assert.equal(mainTask.href_result, `${HOST}${PREFIX}/volumes/${id}`);
      // The same volume, whichever way it is reached.
      assert.equal((await onMain({ url: `/volumes/${id}`, token })).json().volume.id, id);
      assert.equal((await onOwn({ url: `/volumes/${id}`, token })).json().volume.id, id);
    });

    it('speaks Scaleway for every error there, the framework\'s own included', async () => {
      const expect = async (options: InjectOptions & { token?: string }, status: number, type: string, message?: string | RegExp) => {
        const res = await onOwn(options);
        assert.equal(res.statusCode, status, `${options.method ?? 'GET'} ${options.url}: ${res.body}`);
        const body = res.json();
        assert.deepEqual(Object.keys(body).filter((k) => k !== 'fields').sort(), ['message', 'type'], res.body);
        assert.equal(body.type, type, res.body);
        if (typeof message === 'string') assert.equal(body.message, message);
        else if (message) assert.match(body.message, message);
        return res;
      };
      await expect({ url: '/servers' }, 401, 'invalid_auth', "The header 'X-Auth-Token' is missing");
      await expect({ url: '/servers', token: '4e0b46e4-7c1d-44d4-8ba6-dc5f80694397' }, 401, 'invalid_auth');
      await expect({ url: '/no-such-thing', token }, 404, 'unknown_resource', 'The requested URL /no-such-thing was not found on this server.');
      // Only the Scaleway surface lives here: neither the native API nor the prefixed path.
      await expect({ url: '/api/servers/servers/', token }, 404, 'unknown_resource');
      await expect({ url: `${PREFIX}/servers`, token }, 404, 'unknown_resource');
      const wrongMethod = await expect({ method: 'DELETE', url: '/tasks', token }, 405, 'invalid_request_error');
      assert.match(String(wrongMethod.headers.allow), /GET/);
      await expect({ method: 'POST', url: '/volumes', token, headers: { 'content-type': 'application/json' }, payload: '{"name": ' }, 400, 'invalid_request_error', /JSON parse error/);
      await expect({ method: 'POST', url: '/volumes', token, headers: { 'content-type': 'text/plain' }, payload: 'x' }, 415, 'invalid_request_error');
      const unknown = await expect({ method: 'POST', url: '/volumes', token, payload: { name: 'x', size: 50_000_000, colour: 'red' } }, 400, 'invalid_request_error');
      assert.deepEqual(unknown.json().fields, { colour: ['extra keys not allowed'] });
      // Another organization's volume is not there.
      const theirs = (await onOwn({ method: 'POST', url: '/volumes', token: strangerToken, payload: { name: 'theirs', size: 50_000_000 } })).json().volume.id;
      await expect({ url: `/volumes/${theirs}`, token }, 404, 'unknown_resource', `"${theirs}" not found`);
    });
  });
}
