import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, GOOD_PASSWORD, type TestUser } from '../../support/identity.ts';
import { apiKeyOf, cloudmc, COMPUTE_CONNECTION, onlyError } from './support.ts';

for (const database of testDatabases) {
  describe(`CloudMC administration, auth, envelopes and errors [${database.name}]`, () => {
    let app: TestApp;
    let acme: string;
    let labs: string;
    let globex: string;
    let alice: TestUser; // admin of Acme
    let aliceKey: string;
    let bobKey: string; // admin of Globex, Acme's sibling
    let memberKey: string;

    before(async () => {
      app = await startTestApp(database);
      acme = await addOrganization(app, 'Acme');
      globex = await addOrganization(app, 'Globex');
      alice = await addUser(app, 'alice', { role: 'admin', organization: acme });
      aliceKey = await apiKeyOf(app, alice.session);
      labs = await addOrganization(app, 'Acme Labs', { token: alice.session });
      bobKey = await apiKeyOf(app, (await addUser(app, 'bob', { role: 'admin', organization: globex })).session);
      memberKey = await apiKeyOf(app, (await addUser(app, 'mallory', { role: 'member', token: alice.session })).session);
    });
    after(() => app.close());

    it('authenticates with MC-Api-Key and answers {data} and {data, metadata: {recordCount}}', async () => {
      const list = await cloudmc(app, aliceKey, 'GET', '/organizations');
      assert.equal(list.statusCode, 200, list.body);
      const body = list.json();
      assert.deepEqual(Object.keys(body).sort(), ['data', 'metadata']);
      assert.equal(body.metadata.recordCount, body.data.length);
      assert.deepEqual(body.data.map((o: { name: string }) => o.name).sort(), ['Acme', 'Acme Labs']);
      const one = await cloudmc(app, aliceKey, 'GET', `/organizations/${acme}`);
      assert.deepEqual(Object.keys(one.json()), ['data']);
      assert.equal(one.json().data.id, acme);
    });

    it('refuses a missing or wrong key with 401 in its own shape, and no other carrier', async () => {
      onlyError(await cloudmc(app, null, 'GET', '/organizations'), 401, 1010);
      onlyError(await cloudmc(app, 'nbkey_000000000000000000000000000000000000', 'GET', '/organizations'), 401, 1010);
      const bearer = await app.nimbus.http.inject({ method: 'GET', url: '/compat/cloudmc/api/v2/organizations', headers: { authorization: `token="${aliceKey}"` } });
      onlyError(bearer, 401, 1010);
    });

    it('shows organizations as a tree with their environments and service connections, and makes sub-organizations', async () => {
      const created = await cloudmc(app, aliceKey, 'POST', '/organizations', { name: 'Acme Ops', entryPoint: 'acme-ops', parent: { id: acme } });
      assert.equal(created.statusCode, 200, created.body);
      const ops = created.json().data;
      assert.equal(ops.entryPoint, 'acme-ops');
      assert.deepEqual(ops.parent, { id: acme, name: 'Acme' });
      assert.equal(ops.isReseller, false);
      assert.deepEqual(ops.tags, []);
      assert.deepEqual(ops.environments, []);
      assert.deepEqual(ops.serviceConnections, [{ id: COMPUTE_CONNECTION, serviceCode: 'compute' }]);
      assert.match(ops.creationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const parent = (await cloudmc(app, aliceKey, 'GET', `/organizations/${acme}`)).json().data;
      assert.equal(parent.isReseller, true);
      const renamed = await cloudmc(app, aliceKey, 'PUT', `/organizations/${ops.id}`, { name: 'Acme Operations' });
      assert.equal(renamed.json().data.name, 'Acme Operations');
      assert.equal(renamed.json().data.entryPoint, 'acme-ops');
      assert.equal((await cloudmc(app, aliceKey, 'DELETE', `/organizations/${ops.id}`)).statusCode, 204);
      onlyError(await cloudmc(app, aliceKey, 'GET', `/organizations/${ops.id}`), 404, 1020);
    });

    it('acts in a sub-organization with ?org_id=, and never in a foreign one', async () => {
      const made = await cloudmc(app, aliceKey, 'POST', `/users?org_id=${labs}`, { userName: 'lab-rat', firstName: 'Lab', lastName: 'Rat', email: 'rat@labs.example', password: GOOD_PASSWORD });
      assert.equal(made.statusCode, 200, made.body);
      assert.deepEqual(made.json().data.organization, { id: labs, name: 'Acme Labs' });
      const inLabs = (await cloudmc(app, aliceKey, 'GET', `/users?org_id=${labs}`)).json();
      assert.deepEqual(inLabs.data.map((u: { userName: string }) => u.userName), ['lab-rat']);
      assert.equal(inLabs.metadata.recordCount, 1);
      onlyError(await cloudmc(app, aliceKey, 'GET', `/users?org_id=${globex}`), 404, 1020);
      onlyError(await cloudmc(app, bobKey, 'GET', `/users?org_id=${labs}`), 404, 1020);
    });

    it('shows users with userName, names, status, organization and primaryRoleBinding', async () => {
      const users = (await cloudmc(app, aliceKey, 'GET', '/users')).json().data;
      const me = users.find((u: { userName: string }) => u.userName === 'alice');
      assert.deepEqual(
        { ...me, creationDate: undefined },
        {
          id: alice.id,
          userName: 'alice',
          firstName: '',
          lastName: '',
          email: '',
          status: 'ACTIVE',
          organization: { id: acme, name: 'Acme' },
          primaryRoleBinding: { role: { id: 'admin', name: 'admin', isSystem: true, isFixed: true, defaultScope: 'ORG_TREE' } },
          creationDate: undefined,
          lastLogin: me.lastLogin,
        },
      );
      const made = (await cloudmc(app, aliceKey, 'POST', '/users', { userName: 'viv', email: 'viv@acme.example', primaryRoleBinding: { role: { id: 'viewer' } } })).json().data;
      assert.equal(made.primaryRoleBinding.role.id, 'viewer');
      const changed = await cloudmc(app, aliceKey, 'PUT', `/users/${made.id}`, { firstName: 'Vivian', primaryRoleBinding: { role: { id: 'member' } } });
      assert.equal(changed.json().data.firstName, 'Vivian');
      assert.equal(changed.json().data.primaryRoleBinding.role.id, 'member');
      assert.equal((await cloudmc(app, aliceKey, 'DELETE', `/users/${made.id}`)).statusCode, 204);
    });

    it('lists roles with their permissions, scope and kind', async () => {
      const roles = (await cloudmc(app, aliceKey, 'GET', '/roles')).json().data;
      const admin = roles.find((r: { id: string }) => r.id === 'admin');
      assert.equal(admin.isSystem, true);
      assert.equal(admin.isFixed, true);
      assert.equal(admin.defaultScope, 'ORG_TREE');
      assert.ok(admin.permissions.some((p: { name: string }) => p.name === 'server:write'));
      const env = (await cloudmc(app, aliceKey, 'GET', '/roles?filter_scope=ENV')).json().data;
      assert.deepEqual(env.map((r: { id: string }) => r.id), ['environment-owner', 'environment-editor', 'environment-viewer']);
    });

    it('makes environments bound to the compute connection, with members and roles', async () => {
      const connections = (await cloudmc(app, aliceKey, 'GET', '/services/connections')).json();
      assert.deepEqual(connections.data, [{ id: COMPUTE_CONNECTION, serviceCode: 'compute', name: 'Nimbus compute', type: 'compute' }]);
      const created = await cloudmc(app, aliceKey, 'POST', '/environments', { name: 'dev', description: 'Development', serviceConnection: { id: COMPUTE_CONNECTION } });
      assert.equal(created.statusCode, 200, created.body);
      const dev = created.json().data;
      assert.deepEqual(dev.organization, { id: acme, name: 'Acme', entryPoint: dev.organization.entryPoint });
      assert.equal(dev.serviceConnection.serviceCode, 'compute');
      assert.equal(dev.state, 'PROVISIONED');
      const mallory = (await cloudmc(app, aliceKey, 'GET', '/users')).json().data.find((u: { userName: string }) => u.userName === 'mallory');
      const member = await cloudmc(app, aliceKey, 'POST', `/environments/${dev.id}/members`, { user: { id: mallory.id }, role: { id: 'environment-editor' } });
      assert.deepEqual(member.json().data, { user: { id: mallory.id, userName: 'mallory' }, role: { id: 'environment-editor', name: 'editor' } });
      const members = (await cloudmc(app, aliceKey, 'GET', `/environments/${dev.id}/members`)).json();
      assert.deepEqual(members.data.map((m: { user: { userName: string } }) => m.user.userName), ['alice', 'mallory']);
      assert.equal((await cloudmc(app, aliceKey, 'GET', `/organizations/${acme}`)).json().data.environments.length, 1);
      const renamed = await cloudmc(app, aliceKey, 'PUT', `/environments/${dev.id}`, { description: 'Dev work' });
      assert.equal(renamed.json().data.description, 'Dev work');
      assert.equal(renamed.json().data.name, 'dev');
      // RBAC as everywhere: a member reads environments but does not make them.
      assert.equal((await cloudmc(app, memberKey, 'GET', '/environments')).json().metadata.recordCount, 1);
      onlyError(await cloudmc(app, memberKey, 'POST', '/environments', { name: 'mine', serviceConnection: { id: COMPUTE_CONNECTION } }), 403, 1011);
    });

    it("answers 404 for another organization's ids, whatever the verb", async () => {
      const theirs = (await cloudmc(app, bobKey, 'POST', '/environments', { name: 'secret', serviceConnection: { id: COMPUTE_CONNECTION } })).json().data;
      const bobId = (await cloudmc(app, bobKey, 'GET', '/users')).json().data[0].id;
      for (const [method, path, payload] of [
        ['GET', `/organizations/${globex}`],
        ['PUT', `/organizations/${globex}`, { name: 'Mine' }],
        ['DELETE', `/organizations/${globex}`],
        ['GET', `/users/${bobId}`],
        ['PUT', `/users/${bobId}`, { firstName: 'Owned' }],
        ['DELETE', `/users/${bobId}`],
        ['GET', `/environments/${theirs.id}`],
        ['PUT', `/environments/${theirs.id}`, { name: 'mine' }],
        ['DELETE', `/environments/${theirs.id}`],
        ['GET', `/environments/${theirs.id}/members`],
        ['POST', `/environments/${theirs.id}/members`, { user: { id: alice.id }, role: { id: 'environment-owner' } }],
        ['GET', '/services/compute/secret/instances'],
      ] as const) {
        onlyError(await cloudmc(app, aliceKey, method, path, payload), 404, 1020);
      }
      assert.equal((await cloudmc(app, bobKey, 'GET', `/environments/${theirs.id}`)).json().data.name, 'secret');
    });

    it('answers bad input in its own shape and changes nothing', async () => {
      const broken = await app.nimbus.http.inject({ method: 'POST', url: '/compat/cloudmc/api/v2/environments', headers: { 'mc-api-key': aliceKey, 'content-type': 'application/json' }, payload: '{"name": ' });
      assert.match(onlyError(broken, 400, 1001).message, /JSON parse error/);
      const missing = onlyError(await cloudmc(app, aliceKey, 'POST', '/environments', { name: 'no-connection' }), 400, 1002);
      assert.equal(missing.context.field, 'serviceConnection');
      const wrongType = onlyError(await cloudmc(app, aliceKey, 'POST', '/users', { userName: 42 }), 400, 1002);
      assert.equal(wrongType.context.field, 'userName');
      const badName = onlyError(await cloudmc(app, aliceKey, 'POST', '/environments', { name: 'Not Valid', serviceConnection: { id: COMPUTE_CONNECTION } }), 400, 1002);
      assert.deepEqual(badName.context, { field: 'name' });
      const unknownConnection = onlyError(await cloudmc(app, aliceKey, 'POST', '/environments', { name: 'x', serviceConnection: { id: 'nope' } }), 400, 1002);
      assert.equal(unknownConnection.context.field, 'serviceConnection.id');
      const text = await app.nimbus.http.inject({ method: 'POST', url: '/compat/cloudmc/api/v2/environments', headers: { 'mc-api-key': aliceKey, 'content-type': 'text/plain' }, payload: 'hello' });
      onlyError(text, 415, 1032);
      assert.equal((await cloudmc(app, aliceKey, 'GET', '/environments')).json().data.filter((e: { name: string }) => e.name !== 'dev').length, 0);
    });

    it('answers unknown endpoints with 404 and wrong verbs with 405 and Allow', async () => {
      onlyError(await cloudmc(app, aliceKey, 'GET', '/nothing-here'), 404, 1021);
      const wrongVerb = await cloudmc(app, aliceKey, 'PUT', '/organizations');
      onlyError(wrongVerb, 405, 1030);
      assert.equal(wrongVerb.headers.allow, 'GET, POST, HEAD, OPTIONS');
    });

    it('answers an exceeded quota with a 400 of its own code', async () => {
      const quota = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${labs}/quotas/`, token: alice.session, payload: { users: 1 } });
      assert.equal(quota.statusCode, 200, quota.body);
      const over = onlyError(await cloudmc(app, aliceKey, 'POST', `/users?org_id=${labs}`, { userName: 'one-too-many' }), 400, 1003);
      assert.deepEqual(over.context, { resource: 'users', limit: 1 });
    });

    it('kills a regenerated key at once', async () => {
      const carol = await addUser(app, 'carol', { role: 'member', token: alice.session });
      const first = await apiKeyOf(app, carol.session);
      assert.equal((await cloudmc(app, first, 'GET', '/environments')).statusCode, 200);
      const second = await apiKeyOf(app, carol.session);
      onlyError(await cloudmc(app, first, 'GET', '/environments'), 401, 1010);
      assert.equal((await cloudmc(app, second, 'GET', '/environments')).statusCode, 200);
    });

    it('answers tasks in the documented and the clients\' shape at once, then forgets them 30 minutes after they finish', async () => {
      const made = await app.request({ method: 'POST', url: '/api/tasks/tasks/', token: alice.session, payload: { type: 'noop' } });
      assert.equal(made.statusCode, 202, made.body);
      const id = made.json().id;
      await app.request({ method: 'GET', url: `/api/tasks/tasks/${id}/wait/?timeout=30`, token: alice.session });
      const task = (await cloudmc(app, aliceKey, 'GET', `/tasks/${id}`)).json();
      assert.equal(task.taskId, id);
      assert.equal(task.taskStatus, 'SUCCESS');
      assert.deepEqual(task.data, { id, status: 'SUCCESS', created: task.data.created, result: task.result });
      assert.match(task.data.created, /Z$/);
      onlyError(await cloudmc(app, bobKey, 'GET', `/tasks/${id}`), 404, 1020);
      const longAgo = new Date(Date.now() - 31 * 60 * 1000).toISOString();
      await app.nimbus.store.db.updateTable('tasks').set({ finished_at: longAgo }).where('id', '=', id).execute();
      onlyError(await cloudmc(app, aliceKey, 'GET', `/tasks/${id}`), 404, 1020);
    });
  });
}
