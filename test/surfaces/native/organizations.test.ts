import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../../support/databases.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';

for (const database of testDatabases) {
  describe(`organizations [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    const create = async (body: unknown, token?: string) => app.request({ method: 'POST', url: '/api/iam/organizations/', payload: body as object, token });

    it('creates, retrieves, updates and deletes a sub-organization', async () => {
      const created = await create({ name: 'Acme Corp' });
      assert.equal(created.statusCode, 201, created.body);
      const org = created.json();
      assert.match(org.slug, /^acme-corp-[0-9a-f]{8}$/);
      assert.equal(created.headers.location, `http://localhost:80/api/iam/organizations/${org.id}/`);

      const fetched = await app.request({ method: 'GET', url: `/api/iam/organizations/${org.id}/` });
      assert.equal(fetched.statusCode, 200);
      assert.deepEqual(fetched.json(), org);

      const patched = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org.id}/`, payload: { name: 'Acme' } });
      assert.equal(patched.json().name, 'Acme');
      const put = await app.request({ method: 'PUT', url: `/api/iam/organizations/${org.id}/`, payload: { name: 'Acme 2', slug: 'acme-two' } });
      assert.equal(put.statusCode, 200, put.body);
      assert.equal(put.json().slug, 'acme-two');

      const deleted = await app.request({ method: 'DELETE', url: `/api/iam/organizations/${org.id}/` });
      assert.equal(deleted.statusCode, 204);
      assert.equal((await app.request({ method: 'GET', url: `/api/iam/organizations/${org.id}/` })).statusCode, 404);
    });

    it('refuses to delete an organization that has children, with a clear error', async () => {
      const parent = (await create({ name: 'Parent' })).json();
      await create({ name: 'Child', parent: parent.id });
      const refused = await app.request({ method: 'DELETE', url: `/api/iam/organizations/${parent.id}/` });
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json().code, 'organization_has_children');
      assert.match(refused.json().detail, /sub-organization/);
    });

    it('validates names and slugs in DRF shape and changes nothing', async () => {
      const before = (await app.request({ method: 'GET', url: '/api/iam/organizations/' })).json().count;
      const res = await create({ name: '  ', slug: 'Bad Slug' });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(Object.keys(res.json()).sort(), ['name', 'slug']);
      assert.deepEqual(res.json().name, ['This field may not be blank.']);
      const missing = await create({});
      assert.deepEqual(missing.json(), { name: ['This field is required.'] });
      const duplicate = await create({ name: 'x', slug: 'default' });
      assert.deepEqual(duplicate.json(), { slug: ['organization with this slug already exists.'] });
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/organizations/' })).json().count, before);
    });

    it('moves an organization with its subtree, and refuses cycles', async () => {
      const a = (await create({ name: 'A' })).json();
      const b = (await create({ name: 'B', parent: a.id })).json();
      const c = (await create({ name: 'C', parent: b.id })).json();
      const cycle = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${a.id}/`, payload: { parent: c.id } });
      assert.equal(cycle.statusCode, 400);
      assert.ok(cycle.json().parent);
      const other = (await create({ name: 'Other' })).json();
      const moved = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${b.id}/`, payload: { parent: other.id } });
      assert.equal(moved.statusCode, 200, moved.body);
      const children = (await app.request({ method: 'GET', url: `/api/iam/organizations/?parent=${other.id}` })).json();
      assert.deepEqual(children.results.map((o: { id: string }) => o.id), [b.id]);
      // What was done in the grandchild moved along: its tasks and events are seen from the new
      // ancestors (and from the grandchild itself), no longer from the old ones.
      const task = (await app.request({ method: 'POST', url: `/api/tasks/tasks/?org_id=${c.id}`, payload: { type: 'noop' } })).json();
      const tasksSeenFrom = async (org: string) => (await app.request({ method: 'GET', url: `/api/tasks/tasks/?org_id=${org}` })).json().results.map((t: { id: string }) => t.id);
      const other2 = (await create({ name: 'Other 2' })).json();
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/organizations/${b.id}/`, payload: { parent: other2.id } })).statusCode, 200);
      assert.deepEqual(await tasksSeenFrom(c.id), [task.id]);
      assert.deepEqual(await tasksSeenFrom(other2.id), [task.id]);
      assert.deepEqual(await tasksSeenFrom(other.id), []);
      const events = (await app.request({ method: 'GET', url: `/api/events/events/?org_id=${other2.id}&resource=task:${task.id}&cursor=` })).json();
      assert.ok(events.results.length > 0, 'the task events moved along');
      // The grandchild moved along: deleting it then B works, and A is now empty.
      assert.equal((await app.request({ method: 'DELETE', url: `/api/iam/organizations/${c.id}/` })).statusCode, 204);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/iam/organizations/${b.id}/` })).statusCode, 204);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/iam/organizations/${a.id}/` })).statusCode, 204);
    });
  });
}
