import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId, nowIso } from '../../../src/core/clock.ts';
import type { Store } from '../../../src/store/database.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { registeredRoutes } from '../../support/routes.ts';

const COLLECTION = '/api/iam/organizations/';

/** An organization with its own user and token, made directly in the store as an operator would. */
async function tenant(app: TestApp, name: string, parent: { id: string; path: string } | null): Promise<{ id: string; path: string; token: string }> {
  const store: Store = app.nimbus.store;
  const id = newId();
  const path = `${parent?.path ?? '/'}${id}/`;
  const now = nowIso();
  await store.db.insertInto('organizations').values({ id, name, slug: `${name.toLowerCase()}-${id.slice(0, 8)}`, parent_id: parent?.id ?? null, path, created_at: now, updated_at: now }).execute();
  const userId = newId();
  await store.db
    .insertInto('users')
    .values({ id: userId, organization_id: id, username: `${name.toLowerCase()}-admin`, email: '', first_name: '', last_name: '', password_hash: null, is_active: 1, is_staff: 0, is_superuser: 0, created_at: now, updated_at: now, last_login: null })
    .execute();
  // Without a role nobody may do anything: the tenant's admin owns its organization.
  await store.db.insertInto('role_bindings').values({ id: newId(), user_id: userId, organization_id: id, role: 'owner', created_at: now }).execute();
  const { secret } = await app.nimbus.services.tokens.create({ userId, organizationId: id, kind: 'personal', name: 'tenant', scopes: ['*'], expiresAt: null });
  return { id, path, token: secret };
}

for (const database of testDatabases) {
  describe(`tenancy [${database.name}]`, () => {
    let app: TestApp;
    let home: { id: string; path: string };
    let other: { id: string; path: string; token: string };
    let otherChild: { id: string };
    let homeChild: { id: string };

    before(async () => {
      app = await startTestApp(database);
      const root = (await app.request({ method: 'GET', url: COLLECTION })).json().results[0];
      home = { id: root.id, path: `/${root.id}/` };
      other = await tenant(app, 'Other', null);
      otherChild = (await app.request({ method: 'POST', url: COLLECTION, payload: { name: 'Other child' }, token: other.token })).json();
      homeChild = (await app.request({ method: 'POST', url: COLLECTION, payload: { name: 'Home child' } })).json();
    });
    after(() => app.close());

    const ids = async (token?: string) => (await app.request({ method: 'GET', url: `${COLLECTION}?page_size=100`, token })).json().results.map((o: { id: string }) => o.id).sort();

    it('shows each side its own organization and descendants, and nothing else', async () => {
      assert.deepEqual(await ids(), [home.id, homeChild.id].sort());
      assert.deepEqual(await ids(other.token), [other.id, otherChild.id].sort());
      const status = (await app.request({ method: 'GET', url: '/api/status/', token: other.token })).json();
      assert.equal(status.organization.id, other.id);
    });

    it("answers every organization route on the other side's ids with 404 and changes nothing", async () => {
      const routes = registeredRoutes(app.nimbus.http).filter((r) => r.url.startsWith('/api/iam/organizations/:id'));
      assert.ok(routes.length > 0);
      for (const route of routes) {
        for (const method of route.methods.filter((m) => m !== 'HEAD') as ('GET' | 'PUT' | 'PATCH' | 'DELETE')[]) {
          for (const [token, target] of [[undefined, other.id], [undefined, otherChild.id], [other.token, home.id], [other.token, homeChild.id]] as const) {
            const url = `${route.url.replace(':id', target)}/`;
            const res = await app.request({ method, url, token, payload: method === 'GET' || method === 'DELETE' ? undefined : { name: 'Taken over' } });
            assert.equal(res.statusCode, 404, `${method} ${url}`);
            assert.equal(res.json().code, 'not_found');
          }
        }
      }
      assert.deepEqual(await ids(other.token), [other.id, otherChild.id].sort());
      const names = (await app.request({ method: 'GET', url: `${COLLECTION}?page_size=100`, token: other.token })).json().results.map((o: { name: string }) => o.name);
      assert.ok(!names.includes('Taken over'));
    });

    it("cannot use the other side's organizations as a parent, a filter or a move target", async () => {
      const create = await app.request({ method: 'POST', url: COLLECTION, payload: { name: 'Sneaky', parent: other.id } });
      assert.equal(create.statusCode, 400);
      assert.deepEqual(create.json(), { parent: [`Invalid pk "${other.id}" - object does not exist.`] });
      const move = await app.request({ method: 'PATCH', url: `${COLLECTION}${homeChild.id}/`, payload: { parent: otherChild.id } });
      assert.equal(move.statusCode, 400);
      const filtered = (await app.request({ method: 'GET', url: `${COLLECTION}?parent=${other.id}` })).json();
      assert.equal(filtered.count, 0);
      assert.equal((await app.request({ method: 'GET', url: `${COLLECTION}?search=other` })).json().count, 0);
    });

    it('confines a sub-organization credential to its subtree: its parent and siblings are 404', async () => {
      const sub = await tenant(app, 'Sub', home);
      const sibling = homeChild;
      const grandchild = (await app.request({ method: 'POST', url: COLLECTION, payload: { name: 'Grandchild' }, token: sub.token })).json();
      assert.equal(grandchild.parent, sub.id);
      assert.deepEqual(await ids(sub.token), [sub.id, grandchild.id].sort());
      for (const hidden of [home.id, sibling.id, other.id]) {
        assert.equal((await app.request({ method: 'GET', url: `${COLLECTION}${hidden}/`, token: sub.token })).statusCode, 404);
      }
      const escape = await app.request({ method: 'PATCH', url: `${COLLECTION}${grandchild.id}/`, payload: { parent: home.id }, token: sub.token });
      assert.equal(escape.statusCode, 400);
      const self = await app.request({ method: 'DELETE', url: `${COLLECTION}${sub.id}/`, token: sub.token });
      assert.equal(self.statusCode, 409);
      assert.equal(self.json().code, 'organization_in_use');
      // The parent side sees the sub-organization and everything below it.
      const seen = await ids();
      assert.ok(seen.includes(sub.id) && seen.includes(grandchild.id));
    });
  });
}
