import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../../support/identity.ts';
import { accepted, get } from '../compute/support.ts';

const APPS = '/api/apps/apps/';

for (const database of testDatabases) {
  describe(`apps [${database.name}]`, () => {
    let app: TestApp;
    let orgA: string;
    let childA: string;
    let alice: TestUser; // admin of A
    let bob: TestUser; // admin of B, A's sibling
    let created: any;

    before(async () => {
      app = await startTestApp(database);
      orgA = await addOrganization(app, 'Apps A');
      const orgB = await addOrganization(app, 'Apps B');
      alice = await addUser(app, 'apps-alice', { role: 'admin', organization: orgA });
      bob = await addUser(app, 'apps-bob', { role: 'admin', organization: orgB });
      childA = await addOrganization(app, 'Apps A child', { token: alice.session });
    });
    after(() => app.close());

    const create = (payload: object, token = alice.session) => app.request({ method: 'POST', url: APPS, token, payload });
    const eventTypes = async (id: string) => (await get(app, `/api/events/events/?resource=app:${id}&page_size=100`)).results.map((e: { type: string }) => e.type);

    it('creates an app with its defaults and an event', async () => {
      const res = await create({ name: 'my-first-app' });
      assert.equal(res.statusCode, 201, res.body);
      created = res.json();
      assert.equal(created.status, 'new');
      assert.equal(created.stack, 'nodejs');
      assert.equal(created.force_https, false);
      assert.equal(created.organization, orgA);
      assert.equal(created.web_url, 'http://my-first-app.apps.localhost:8090');
      assert.equal(created.url, `http://localhost:80${APPS}${created.id}/`);
      assert.equal(res.headers.location, created.url);
      assert.ok(res.headers.etag);
      assert.deepEqual(await eventTypes(created.id), ['app.new_app']);
      assert.equal((await get(app, `${APPS}my-first-app/`, alice.session)).id, created.id, 'found by name too');
    });

    it('refuses invalid names and a taken name, changing nothing', async () => {
      const cases: [unknown, string][] = [
        ['short', 'should have between 6 and 48 characters'],
        ['a'.repeat(49), 'should have between 6 and 48 characters'],
        ['Upper-Case', 'should contain only lowercap letters, digits and hyphens'],
        ['with_underscore', 'should contain only lowercap letters, digits and hyphens'],
        ['dots.in.name', 'should contain only lowercap letters, digits and hyphens'],
        ['-leading', 'should not start or end with a hyphen'],
      ];
      for (const [name, message] of cases) {
        const res = await create({ name });
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.ok(res.json().name.includes(message), `${name}: ${res.body}`);
      }
      const badStack = await create({ name: 'good-name', stack: 'cobol' });
      assert.equal(badStack.statusCode, 400);
      assert.ok(badStack.json().stack);
      // Names are unique on the installation, across organizations.
      const taken = await create({ name: 'my-first-app' }, bob.session);
      assert.equal(taken.statusCode, 400, taken.body);
      assert.deepEqual(taken.json(), { name: ['is already taken'] });
      assert.equal((await get(app, APPS, alice.session)).count, 1);
      assert.equal((await get(app, APPS, bob.session)).count, 0);
    });

    it("answers 404 for another organization's app, by id or by name, on every route", async () => {
      for (const ref of [created.id, created.name]) {
        for (const [method, url, payload] of [
          ['GET', `${APPS}${ref}/`, undefined],
          ['PATCH', `${APPS}${ref}/`, { force_https: true }],
          ['DELETE', `${APPS}${ref}/`, undefined],
          ['POST', `${APPS}${ref}/rename/`, { new_name: 'stolen-name' }],
          ['POST', `${APPS}${ref}/transfer/`, { organization: childA }],
        ] as const) {
          const res = await app.request({ method, url, token: bob.session, ...(payload ? { payload } : {}) });
          assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
        }
      }
      assert.equal((await get(app, `${APPS}${created.id}/`, alice.session)).name, 'my-first-app');
    });

    it('changes settings, renames (recording both names) and checks the confirmation', async () => {
      const patched = await app.request({ method: 'PATCH', url: `${APPS}${created.id}/`, token: alice.session, payload: { force_https: true, stack: 'procfile' } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().force_https, true);
      assert.equal(patched.json().stack, 'procfile');
      assert.equal(patched.json().health_check_path, null);
      const checked = await app.request({ method: 'PATCH', url: `${APPS}${created.id}/`, token: alice.session, payload: { health_check_path: '/healthz' } });
      assert.equal(checked.statusCode, 200, checked.body);
      assert.equal(checked.json().health_check_path, '/healthz');
      assert.equal(checked.json().force_https, true, 'other settings stay');
      for (const path of ['healthz', '/with space', `/${'x'.repeat(250)}`]) {
        const refused = await app.request({ method: 'PATCH', url: `${APPS}${created.id}/`, token: alice.session, payload: { health_check_path: path } });
        assert.equal(refused.statusCode, 400, path);
        assert.ok(refused.json().health_check_path);
      }
      assert.equal((await get(app, `${APPS}${created.id}/`)).health_check_path, '/healthz');
      const cleared = await app.request({ method: 'PATCH', url: `${APPS}${created.id}/`, token: alice.session, payload: { health_check_path: null } });
      assert.equal(cleared.json().health_check_path, null);
      const wrong = await app.request({ method: 'POST', url: `${APPS}${created.id}/rename/`, token: alice.session, payload: { new_name: 'renamed-app', current_name: 'not-the-name' } });
      assert.equal(wrong.statusCode, 400);
      assert.ok(wrong.json().current_name);
      const bad = await app.request({ method: 'POST', url: `${APPS}${created.id}/rename/`, token: alice.session, payload: { new_name: 'No' } });
      assert.equal(bad.statusCode, 400);
      assert.ok(bad.json().new_name);
      const renamed = await app.request({ method: 'POST', url: `${APPS}${created.id}/rename/`, token: alice.session, payload: { new_name: 'renamed-app', current_name: 'my-first-app' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().web_url, 'http://renamed-app.apps.localhost:8090');
      assert.equal((await app.request({ method: 'GET', url: `${APPS}my-first-app/`, token: alice.session })).statusCode, 404);
      const events = (await get(app, `/api/events/events/?resource=app:${created.id}&type=app.rename_app`)).results;
      assert.equal(events.length, 1);
      assert.deepEqual([events[0].data.old_name, events[0].data.new_name], ['my-first-app', 'renamed-app']);
      assert.ok((await eventTypes(created.id)).includes('app.edit_app'));
    });

    it('counts the apps quota over the whole subtree, on create and on transfer', async () => {
      // The root's admin limits A to 2 apps; A already has one, its child makes the second.
      const quota = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${orgA}/quotas/`, payload: { apps: 2 } });
      assert.equal(quota.statusCode, 200, quota.body);
      const inChild = await app.request({ method: 'POST', url: `${APPS}?org_id=${childA}`, token: alice.session, payload: { name: 'child-app-1' } });
      assert.equal(inChild.statusCode, 201, inChild.body);
      assert.equal(inChild.json().organization, childA);
      const over = await app.request({ method: 'POST', url: `${APPS}?org_id=${childA}`, token: alice.session, payload: { name: 'child-app-2' } });
      assert.equal(over.statusCode, 403, over.body);
      assert.equal(over.json().code, 'quota_exceeded');
      const overParent = await create({ name: 'parent-app-2' });
      assert.equal(overParent.statusCode, 403, overParent.body);
      // Moving one within the subtree keeps the total: allowed.
      const moved = await app.request({ method: 'POST', url: `${APPS}${created.id}/transfer/`, token: alice.session, payload: { organization: childA } });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.equal(moved.json().organization, childA);
      // A sub-organization's admin sees only its own subtree's apps.
      assert.equal((await get(app, `${APPS}?org_id=${childA}`, alice.session)).count, 2);
      await app.request({ method: 'PATCH', url: `/api/iam/organizations/${orgA}/quotas/`, payload: { apps: null } });
    });

    it('refuses a transfer outside the subtree and enforces roles and scopes', async () => {
      const bobsOrg = (await get(app, '/api/iam/organizations/', bob.session)).results[0].id;
      const outside = await app.request({ method: 'POST', url: `${APPS}${created.id}/transfer/`, token: alice.session, payload: { organization: bobsOrg } });
      assert.equal(outside.statusCode, 400, outside.body);
      assert.ok(outside.json().organization);
      const viewer = await addUser(app, 'apps-viewer', { role: 'viewer', organization: orgA });
      assert.equal((await create({ name: 'viewer-app' }, viewer.session)).statusCode, 403);
      assert.equal((await get(app, APPS, viewer.session)).count, 2);
      const readOnly = await addToken(app, alice.session, ['app:read']);
      assert.equal((await create({ name: 'scoped-app' }, readOnly.key)).statusCode, 403);
      assert.equal((await app.request({ method: 'DELETE', url: `${APPS}${created.id}/`, token: readOnly.key })).statusCode, 403);
      assert.equal((await app.request({ method: 'GET', url: `${APPS}${created.id}/`, token: readOnly.key })).statusCode, 200);
      // The child's admin cannot reach the parent's apps nor move its own upwards.
      const childAdmin = await addUser(app, 'apps-child-admin', { role: 'admin', organization: childA });
      const parentApp = (await get(app, `${APPS}?name=child-app-1`, alice.session)).results[0];
      const up = await app.request({ method: 'POST', url: `${APPS}${parentApp.id}/transfer/`, token: childAdmin.session, payload: { organization: orgA } });
      assert.equal(up.statusCode, 400, up.body);
    });

    it('deletes an app through its task, leaving its name free', async () => {
      const task = await accepted(app, { method: 'DELETE', url: `${APPS}${created.id}/`, token: alice.session });
      assert.equal(task.type, 'app.delete');
      assert.equal((await app.request({ method: 'GET', url: `${APPS}${created.id}/`, token: alice.session })).statusCode, 404);
      assert.deepEqual((await eventTypes(created.id)).slice(0, 2), ['app.app_deleted', 'app.delete_app'], 'newest first');
      assert.equal((await create({ name: 'renamed-app' })).statusCode, 201);
    });
  });
}
