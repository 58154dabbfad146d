import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, type TestUser } from '../../support/identity.ts';
import { accepted, action, get, MIB, rootPasswordIs, shell, waitForTask } from '../../surfaces/native/compute/support.ts';

const SERVERS = '/api/servers/servers/';
const VOLUMES = '/api/storage/volumes/';
const DAY_MS = 86_400 * 1000;
const skip = computeSkipReason();

/**
 * Soft destroy, recovery, purge and the retention that purges on its own, and root password
 * resets, in core, on real runc (through the native API's actions, which expose them).
 */
for (const database of testDatabases) {
  describe(`destroyed servers and password resets [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let stranger: TestUser;
    let server: string;
    let volume: string;

    before(async () => {
      app = await startComputeTestApp(database);
      stranger = await addUser(app, 'stranger', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') });
    });
    after(async () => {
      await app?.close();
    });

    const state = async (id: string) => (await get(app, `${SERVERS}${id}/`)).state;
    const expiryOf = async (id: string) => app.nimbus.store.db.selectFrom('tasks').innerJoin('task_resources', 'task_resources.task_id', 'tasks.id').selectAll('tasks').where('tasks.type', '=', 'server.expire').where('task_resources.resource_id', '=', id).execute();

    it('resets the root password of a running server, hands it back in the task result, and keeps it sealed at rest', async () => {
      const created = await accepted(app, { method: 'POST', url: SERVERS, payload: { name: 'keeper', memory: 64 * MIB } });
      server = created.id;
      volume = (await accepted(app, { method: 'POST', url: VOLUMES, payload: { name: 'data', size: 32 * MIB } })).id;
      await accepted(app, { method: 'POST', url: `${VOLUMES}${volume}/attach/`, payload: { server, mount_path: '/data' } });
      const stopped = await action(app, server, 'reset_password');
      assert.equal(stopped.statusCode, 409, stopped.body);
      assert.deepEqual([stopped.json().current, stopped.json().expected], ['stopped', ['running']]);
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'poweron' } });
      await shell(app, server, 'echo kept > /data/mark');

      const reset = await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'reset_password' } });
      const task = await get(app, `/api/tasks/tasks/${reset.id}/`);
      assert.equal(task.type, 'server.reset_password');
      assert.match(task.result.password, /^[A-Za-z0-9]{20}$/);
      assert.equal(await rootPasswordIs(app, server, task.result.password), true);
      assert.equal(await state(server), 'running');
      const stored = await app.nimbus.store.db.selectFrom('tasks').select('result').where('id', '=', reset.id).executeTakeFirstOrThrow();
      assert.ok(!stored.result!.includes(task.result.password), 'the password is not stored in the clear');
      assert.match(stored.result!, /"sealed_secrets":\{"password":"v1\./);
      assert.equal((await app.request({ method: 'GET', url: `/api/tasks/tasks/${reset.id}/`, token: stranger.session })).statusCode, 404);

      const again = (await get(app, `/api/tasks/tasks/${(await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'reset_password' } })).id}/`)).result.password;
      assert.notEqual(again, task.result.password);
      assert.equal(await rootPasswordIs(app, server, again), true);
      assert.equal(await rootPasswordIs(app, server, task.result.password), false);
    });

    it('destroys a running server: stopped and kept with its volumes, its expiry due after the retention', async () => {
      const destroy = await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'destroy' } });
      assert.equal(destroy.type, 'server.destroy');
      const destroyed = await get(app, `${SERVERS}${server}/`);
      assert.equal(destroyed.state, 'destroyed');
      assert.ok(destroyed.destroyed_at);
      assert.equal(await app.nimbus.services.compute.host.servers.state(server), 'stopped');
      assert.equal((await get(app, `${VOLUMES}${volume}/`)).server, server);
      assert.deepEqual((await get(app, `${SERVERS}${server}/actions/`)).actions, ['terminate', 'recover', 'purge']);
      const [expiry] = await expiryOf(server);
      assert.equal(expiry!.status, 'pending');
      assert.equal(Date.parse(expiry!.run_after) - Date.parse(destroyed.destroyed_at), DAY_MS);
      assert.equal((await get(app, `${SERVERS}?state=destroyed`)).count, 1);
    });

    it('refuses what a destroyed server does not do, and hides it from another organization', async () => {
      for (const [name, expected] of [['poweron', ['stopped', 'error']], ['destroy', ['stopped', 'running', 'error']], ['reset_password', ['running']]] as const) {
        const res = await action(app, server, name);
        assert.equal(res.statusCode, 409, res.body);
        assert.deepEqual([res.json().current, res.json().expected], ['destroyed', expected]);
      }
      for (const name of ['recover', 'purge']) assert.equal((await app.request({ method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: name }, token: stranger.session })).statusCode, 404);
      assert.equal((await app.request({ method: 'DELETE', url: `${SERVERS}${server}/`, token: stranger.session })).statusCode, 404);
      assert.equal(await state(server), 'destroyed');
    });

    it('recovers it to stopped, cancels its expiry, and it starts with what it had', async () => {
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'recover' } });
      const recovered = await get(app, `${SERVERS}${server}/`);
      assert.equal(recovered.state, 'stopped');
      assert.equal(recovered.destroyed_at, null);
      assert.deepEqual((await expiryOf(server)).map((t) => t.status), ['cancelled']);
      const twice = await action(app, server, 'recover');
      assert.equal(twice.statusCode, 409);
      assert.deepEqual(twice.json().expected, ['destroyed']);
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'poweron' } });
      assert.equal(await shell(app, server, 'cat /data/mark'), 'kept\n');
    });

    it('purges a destroyed server once its retention has passed, through its durable expiry task', async () => {
      await accepted(app, { method: 'POST', url: `${SERVERS}${server}/actions/`, payload: { action: 'destroy' } });
      const { root_volume: rootVolume } = await get(app, `${SERVERS}${server}/`);
      const pending = (await expiryOf(server)).find((t) => t.status === 'pending')!;
      // The day passes: the task comes due.
      await app.nimbus.store.db.updateTable('tasks').set({ run_after: new Date().toISOString() }).where('id', '=', pending.id).execute();
      const done = await waitForTask(app, pending.id);
      assert.deepEqual(done.result, { purged: true });
      assert.equal((await app.request({ method: 'GET', url: `${SERVERS}${server}/` })).statusCode, 404);
      assert.equal((await app.request({ method: 'GET', url: `${VOLUMES}${rootVolume}/` })).statusCode, 404);
      assert.equal(await app.nimbus.services.compute.host.servers.state(server), 'missing');
      const kept = await get(app, `${VOLUMES}${volume}/`);
      assert.deepEqual([kept.state, kept.server], ['available', null]);
    });

    it('purges at once on request, by the purge action or a DELETE, and keeps DELETE immediate', async () => {
      for (const purge of ['action', 'delete'] as const) {
        const { id } = await accepted(app, { method: 'POST', url: SERVERS, payload: { name: `short-${purge}`, memory: 64 * MIB } });
        const early = await action(app, id, 'purge');
        assert.equal(early.statusCode, 409);
        assert.deepEqual([early.json().current, early.json().expected], ['stopped', ['destroyed']]);
        await accepted(app, { method: 'POST', url: `${SERVERS}${id}/actions/`, payload: { action: 'destroy' } });
        if (purge === 'action') await accepted(app, { method: 'POST', url: `${SERVERS}${id}/actions/`, payload: { action: 'purge' } });
        else await accepted(app, { method: 'DELETE', url: `${SERVERS}${id}/` });
        assert.equal((await app.request({ method: 'GET', url: `${SERVERS}${id}/` })).statusCode, 404);
        // Its expiry finds nothing to do when it comes due.
        const [expiry] = await expiryOf(id);
        await app.nimbus.store.db.updateTable('tasks').set({ run_after: new Date().toISOString() }).where('id', '=', expiry!.id).execute();
        assert.deepEqual((await waitForTask(app, expiry!.id)).result, { gone: true });
      }
      const { id } = await accepted(app, { method: 'POST', url: SERVERS, payload: { name: 'at-once', memory: 64 * MIB } });
      await accepted(app, { method: 'DELETE', url: `${SERVERS}${id}/` });
      assert.equal((await app.request({ method: 'GET', url: `${SERVERS}${id}/` })).statusCode, 404);
      assert.deepEqual(await expiryOf(id), []);
    });
  });
}
