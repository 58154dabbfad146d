import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser } from '../../support/identity.ts';

for (const database of testDatabases) {
  describe(`quotas hold for a whole subtree [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    const setQuotas = async (organization: string, quotas: Record<string, number | null>) => {
      const res = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${organization}/quotas/`, payload: quotas });
      assert.equal(res.statusCode, 200, res.body);
    };
    // Users without a password: no Argon2 hashing, so parallel creates race on the quota alone.
    const createUser = (username: string, organization: string, token?: string) =>
      app.request({ method: 'POST', url: '/api/iam/users/', token, payload: { username, organization } });
    const usersUnder = async (organization: string) => (await app.request({ method: 'GET', url: `/api/iam/users/?org_id=${organization}&page_size=100` })).json().count as number;

    it("counts a sub-organization's users toward every limit above it", async () => {
      const limited = await addOrganization(app, 'Five Users');
      await setQuotas(limited, { users: 5 });
      const admin = await addUser(app, 'five-admin', { organization: limited, role: 'admin' });
      // The limited organization's admin makes an unlimited sub-organization and fills it.
      const child = await addOrganization(app, 'Five Users Child', { parent: limited, token: admin.session });
      const grandchild = await addOrganization(app, 'Five Users Grandchild', { parent: child, token: admin.session });
      const created = [];
      for (let i = 0; i < 6; i++) created.push((await createUser(`five-${i}`, i % 2 ? child : grandchild, admin.session)).statusCode);
      assert.deepEqual(created, [201, 201, 201, 201, 403, 403]);
      const refused = await createUser('five-x', grandchild, admin.session);
      assert.equal(refused.json().code, 'quota_exceeded');
      assert.equal(refused.json().limit, 5);
      assert.equal(await usersUnder(limited), 5);
    });

    it('holds under concurrent creates spread over the subtree', async () => {
      const limited = await addOrganization(app, 'Racing');
      const children = [await addOrganization(app, 'Racing A', { parent: limited }), await addOrganization(app, 'Racing B', { parent: limited })];
      await setQuotas(limited, { users: 4 });
      const targets = [limited, ...children];
      const results = await Promise.all(Array.from({ length: 15 }, (_, i) => createUser(`racer-${i}`, targets[i % targets.length]!)));
      const statuses = results.map((r) => r.statusCode);
      assert.equal(statuses.filter((s) => s === 201).length, 4, statuses.join(' '));
      assert.ok(results.every((r) => r.statusCode === 201 || r.json().code === 'quota_exceeded'), statuses.join(' '));
      assert.equal(await usersUnder(limited), 4);
    });

    it('refuses to move a subtree under an organization whose limits it would pass', async () => {
      const full = await addOrganization(app, 'Full');
      await setQuotas(full, { users: 2 });
      await createUser('full-1', full);
      const mover = await addOrganization(app, 'Mover');
      await createUser('mover-1', mover);
      await createUser('mover-2', await addOrganization(app, 'Mover Child', { parent: mover }));
      const moved = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${mover}/`, payload: { parent: full } });
      assert.equal(moved.statusCode, 403, moved.body);
      assert.equal(moved.json().code, 'quota_exceeded');
      const after = (await app.request({ method: 'GET', url: `/api/iam/organizations/${mover}/` })).json();
      assert.notEqual(after.parent, full);
      // Within the limit, the move goes through.
      await setQuotas(full, { users: 3 });
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/organizations/${mover}/`, payload: { parent: full } })).statusCode, 200);
      assert.equal((await createUser('full-2', full)).json().code, 'quota_exceeded');
    });
  });
}
