import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addUser } from '../../support/identity.ts';

// Core names its fields its own way (`memory_bytes`, `firstName`); the native API's validation
// errors still name what its clients sent.
for (const database of testDatabases) {
  describe(`native validation errors name the native fields [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    it('servers: memory, root_volume_size, plan, image and environment', async () => {
      const sized = await app.request({ method: 'POST', url: '/api/servers/servers/', payload: { name: 'x', memory: 1, root_volume_size: 1, plan: 'p', vcpus: 1 } });
      assert.equal(sized.statusCode, 400, sized.body);
      assert.deepEqual(Object.keys(sized.json()).sort(), ['memory', 'plan', 'root_volume_size']);
      const missing = '00000000-0000-4000-8000-000000000001';
      const image = await app.request({ method: 'POST', url: '/api/servers/servers/', payload: { name: 'x', image: missing } });
      assert.deepEqual(Object.keys(image.json()), ['image'], image.body);
      const environment = await app.request({ method: 'POST', url: '/api/servers/servers/', payload: { name: 'x', environment: missing } });
      assert.deepEqual(Object.keys(environment.json()), ['environment'], environment.body);
      assert.equal((await app.request({ method: 'GET', url: '/api/servers/servers/?name=x' })).json().count, 0);
    });

    it('volumes: size, snapshot and server', async () => {
      const missing = '00000000-0000-4000-8000-000000000002';
      const tiny = await app.request({ method: 'POST', url: '/api/storage/volumes/', payload: { name: 'v', size: 1 } });
      assert.deepEqual(Object.keys(tiny.json()), ['size'], tiny.body);
      const snapshot = await app.request({ method: 'POST', url: '/api/storage/volumes/', payload: { name: 'v', snapshot: missing } });
      assert.deepEqual(Object.keys(snapshot.json()), ['snapshot'], snapshot.body);
      const server = await app.request({ method: 'POST', url: '/api/storage/volumes/', payload: { name: 'v', size: 64 * 1024 * 1024, server: missing } });
      assert.deepEqual(Object.keys(server.json()), ['server'], server.body);
    });

    it('users: organization, is_active and old_password', async () => {
      const elsewhere = await app.request({ method: 'POST', url: '/api/iam/users/', payload: { username: 'placed', organization: 'nowhere' } });
      assert.equal(elsewhere.statusCode, 400, elsewhere.body);
      assert.deepEqual(Object.keys(elsewhere.json()), ['organization']);
      const user = await addUser(app, 'renamed', { role: 'admin' });
      const deactivated = await app.request({ method: 'PATCH', url: '/api/iam/users/-/', token: user.session, payload: { is_active: false } });
      assert.deepEqual(Object.keys(deactivated.json()), ['is_active'], deactivated.body);
      const password = await app.request({ method: 'POST', url: '/api/iam/users/-/password/', token: user.session, payload: { password: 'a-new-long-passphrase' } });
      assert.deepEqual(Object.keys(password.json()), ['old_password'], password.body);
      // A profile change with a session still works, and only what was sent changes.
      const renamed = await app.request({ method: 'PATCH', url: '/api/iam/users/-/', token: user.session, payload: { first_name: 'Rena' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().first_name, 'Rena');
      assert.equal(renamed.json().is_active, true);
    });

    it('organizations, memberships, role bindings and environments: parent, group, user, organization and service_connection', async () => {
      const missing = '00000000-0000-4000-8000-000000000003';
      const fieldsOf = async (url: string, payload: object) => {
        const res = await app.request({ method: 'POST', url, payload });
        assert.equal(res.statusCode, 400, res.body);
        return Object.keys(res.json()).sort();
      };
      assert.deepEqual(await fieldsOf('/api/iam/organizations/', { name: 'Orphan', parent: missing }), ['parent']);
      const group = await app.request({ method: 'POST', url: '/api/iam/groups/', payload: { name: 'field-group' } });
      assert.equal(group.statusCode, 201, group.body);
      assert.deepEqual(await fieldsOf('/api/iam/memberships/', { group: missing, user: missing }), ['group']);
      assert.deepEqual(await fieldsOf('/api/iam/memberships/', { group: group.json().id, user: missing }), ['user']);
      assert.deepEqual(await fieldsOf('/api/iam/role-bindings/', { user: missing, role: 'member' }), ['user']);
      assert.deepEqual(await fieldsOf('/api/iam/role-bindings/', { user: missing, organization: missing, role: 'member' }), ['organization']);
      assert.deepEqual(await fieldsOf('/api/iam/environments/', { name: 'env', service_connection: missing }), ['service_connection']);
      assert.deepEqual(await fieldsOf('/api/iam/environments/', { name: 'env', service_connection: '00000000-0000-4000-8000-00000000c0de', organization: missing }), ['organization']);
      const environment = await app.request({ method: 'POST', url: '/api/iam/environments/', payload: { name: 'env', service_connection: '00000000-0000-4000-8000-00000000c0de' } });
      assert.equal(environment.statusCode, 201, environment.body);
      assert.deepEqual(await fieldsOf(`/api/iam/environments/${environment.json().id}/members/`, { user: missing, role: 'owner' }), ['user']);
    });

    it('tokens and API credentials: expires_at and user', async () => {
      const past = await app.request({ method: 'POST', url: '/api/auth/tokens/', payload: { name: 'late', expires_at: '2020-01-01T00:00:00Z' } });
      assert.equal(past.statusCode, 400, past.body);
      assert.deepEqual(Object.keys(past.json()), ['expires_at']);
      const later = await app.request({ method: 'POST', url: '/api/auth/tokens/', payload: { name: 'later', expires_at: '2099-01-01T00:00:00Z' } });
      assert.equal(later.statusCode, 201, later.body);
      assert.equal(later.json().expires_at, '2099-01-01T00:00:00.000Z');
      const credentials = await app.request({ method: 'POST', url: '/api/auth/credentials/', payload: { user: '00000000-0000-4000-8000-000000000004' } });
      assert.equal(credentials.statusCode, 400, credentials.body);
      assert.deepEqual(Object.keys(credentials.json()), ['user']);
    });
  });
}
