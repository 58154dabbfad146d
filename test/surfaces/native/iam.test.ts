import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addToken, addUser, GOOD_PASSWORD, login } from '../../support/identity.ts';

const LAST_OWNER = { non_field_errors: ['You are the only owner of the group. Add another owner to proceed.'] };

for (const database of testDatabases) {
  describe(`users, groups and roles [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    it("rejects weak passwords with every Django message under `password`, and creates nothing", async () => {
      const res = await app.request({ method: 'POST', url: '/api/iam/users/', payload: { username: 'weak', password: '1234' } });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), {
        password: ['This password is too short. It must contain at least 8 characters.', 'This password is too common.', 'This password is entirely numeric.'],
      });
      const similar = await app.request({ method: 'POST', url: '/api/iam/users/', payload: { username: 'frodobaggins', password: 'frodobaggins1' } });
      assert.deepEqual(similar.json(), { password: ['The password is too similar to the username.'] });
      const list = await app.request({ method: 'GET', url: '/api/iam/users/?username=weak' });
      assert.equal(list.json().count, 0);
      const badName = await app.request({ method: 'POST', url: '/api/iam/users/', payload: { username: 'no spaces', password: GOOD_PASSWORD } });
      assert.deepEqual(badName.json(), { username: ['Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'] });
      await addUser(app, 'taken');
      const dup = await app.request({ method: 'POST', url: '/api/iam/users/', payload: { username: 'taken', password: GOOD_PASSWORD } });
      assert.deepEqual(dup.json(), { username: ['A user with that username already exists.'] });
    });

    it('changes passwords: the old one for oneself, a reset by an administrator', async () => {
      const user = await addUser(app, 'gina');
      const noOld = await app.request({ method: 'POST', url: `/api/iam/users/-/password/`, token: user.session, payload: { password: 'lantern-orchard-77' } });
      assert.deepEqual(noOld.json(), { old_password: ['This field is required.'] });
      const wrongOld = await app.request({ method: 'POST', url: `/api/iam/users/-/password/`, token: user.session, payload: { old_password: 'nope-nope-nope', password: 'lantern-orchard-77' } });
      assert.deepEqual(wrongOld.json(), { old_password: ['Your old password was entered incorrectly. Please enter it again.'] });
      const weak = await app.request({ method: 'POST', url: `/api/iam/users/-/password/`, token: user.session, payload: { old_password: GOOD_PASSWORD, password: 'ginaqz' } });
      assert.deepEqual(weak.json().password, ['The password is too similar to the username.', 'This password is too short. It must contain at least 8 characters.']);
      const ok = await app.request({ method: 'POST', url: `/api/iam/users/-/password/`, token: user.session, payload: { old_password: GOOD_PASSWORD, password: 'lantern-orchard-77' } });
      assert.equal(ok.statusCode, 204, ok.body);
      const reset = await app.request({ method: 'POST', url: `/api/iam/users/${user.id}/password/`, payload: { password: 'quarry-meadow-58' } });
      assert.equal(reset.statusCode, 204);
      // A reset ends the user's sessions.
      assert.equal((await app.request({ method: 'GET', url: '/api/auth/whoami/', token: user.session })).statusCode, 401);
      const fresh = await login(app, 'gina', 'quarry-meadow-58');
      // A member may not reset someone else's password.
      const other = await addUser(app, 'hank');
      const refused = await app.request({ method: 'POST', url: `/api/iam/users/${other.id}/password/`, token: fresh, payload: { password: 'quarry-meadow-59' } });
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(Object.keys(refused.json()).sort(), ['code', 'detail', 'request_id']);
    });

    it('keeps at least one owner in every group', async () => {
      const group = (await app.request({ method: 'POST', url: '/api/iam/groups/', payload: { name: 'platform' } })).json();
      const memberships = (await app.request({ method: 'GET', url: `/api/iam/memberships/?group=${group.id}` })).json().results;
      assert.equal(memberships.length, 1);
      const ownerMembership = memberships[0];
      assert.equal(ownerMembership.role, 'owner');
      const removeLast = await app.request({ method: 'DELETE', url: `/api/iam/memberships/${ownerMembership.id}/` });
      assert.equal(removeLast.statusCode, 400);
      assert.deepEqual(removeLast.json(), LAST_OWNER);
      const demoteLast = await app.request({ method: 'PATCH', url: `/api/iam/memberships/${ownerMembership.id}/`, payload: { role: 'member' } });
      assert.deepEqual(demoteLast.json(), LAST_OWNER);

      const ivy = await addUser(app, 'ivy');
      const added = await app.request({ method: 'POST', url: '/api/iam/memberships/', payload: { group: group.id, user: ivy.id, role: 'owner' } });
      assert.equal(added.statusCode, 201, added.body);
      const again = await app.request({ method: 'POST', url: '/api/iam/memberships/', payload: { group: group.id, user: ivy.id } });
      assert.deepEqual(again.json(), { non_field_errors: ['The fields group, user must make a unique set.'] });
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/memberships/${ownerMembership.id}/`, payload: { role: 'manager' } })).statusCode, 200);
      assert.deepEqual((await app.request({ method: 'DELETE', url: `/api/iam/memberships/${added.json().id}/` })).json(), LAST_OWNER);
      const byUser = await app.request({ method: 'GET', url: `/api/iam/memberships/?user=${ivy.id}` });
      assert.deepEqual(byUser.json().results.map((m: { role: string }) => m.role), ['owner']);
      // Nor can the last owner be deleted as a user.
      const deleteIvy = await app.request({ method: 'DELETE', url: `/api/iam/users/${ivy.id}/` });
      assert.deepEqual(deleteIvy.json(), { non_field_errors: ['ivy is the only owner of the group "platform". Add another owner to proceed.'] });
    });

    it('ignores query parameters named like Object methods, and refuses them as orderings', async () => {
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/memberships/?valueOf=-name&toString=1' })).statusCode, 200);
      const ordering = await app.request({ method: 'GET', url: '/api/iam/users/?ordering=constructor' });
      assert.equal(ordering.statusCode, 400);
      assert.ok(ordering.json().ordering);
    });

    it('lists the built-in roles', async () => {
      const res = await app.request({ method: 'GET', url: '/api/iam/roles/' });
      assert.deepEqual(res.json().results.map((r: { id: string }) => r.id), ['owner', 'admin', 'member', 'viewer']);
      const viewer = await app.request({ method: 'GET', url: '/api/iam/roles/viewer/' });
      assert.ok(viewer.json().permissions.every((p: string) => p.endsWith(':read')));
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/roles/emperor/' })).statusCode, 404);
    });

    it("makes the effective permission the intersection of the user's role and the token's scopes", async () => {
      const viewer = await addUser(app, 'vera', { role: 'viewer' });
      const member = await addUser(app, 'mike', { role: 'member' });
      const group = { method: 'POST' as const, url: '/api/iam/groups/', payload: { name: 'g-scope' } };
      // Role allows reading users, scope allows everything -> allowed; role forbids writing.
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/users/', token: viewer.session })).statusCode, 200);
      const viewerWrite = await app.request({ ...group, token: viewer.session });
      assert.equal(viewerWrite.statusCode, 403);
      assert.equal(viewerWrite.json().code, 'permission_denied');
      // A member's token scoped to servers only: the role would allow reading users, the scope does not.
      const serversOnly = await addToken(app, member.session, ['server:*']);
      const scoped = await app.request({ method: 'GET', url: '/api/iam/users/', token: serversOnly.key });
      assert.equal(scoped.statusCode, 403);
      assert.equal(scoped.json().code, 'api_token_acl_not_allowed');
      const who = (await app.request({ method: 'GET', url: '/api/auth/whoami/', token: serversOnly.key })).json();
      assert.deepEqual(who.permissions, ['server:read', 'server:write']);
      // An admin-scoped token on a viewer still cannot write: scopes never add to the role.
      const viewerAll = await addToken(app, viewer.session, ['*']);
      assert.equal((await app.request({ ...group, token: viewerAll.key })).statusCode, 403);
      // The admin with a read-only token cannot write.
      const readOnly = await addToken(app, app.token, ['*:read']);
      assert.equal((await app.request({ ...group, token: readOnly.key })).statusCode, 403);
    });

    it('lets roles be granted in sub-organizations and inherited below, and keeps owners for owners', async () => {
      const parent = await addOrganization(app, 'Roles Parent');
      const child = await addOrganization(app, 'Roles Child', { parent });
      const grandchild = await addOrganization(app, 'Roles Grandchild', { parent: child });
      const viewer = await addUser(app, 'otto', { role: 'viewer' });
      const admin = await addUser(app, 'adele', { role: 'admin' });
      // Otto, a viewer at the root, may act anywhere below it but only reads.
      assert.equal((await app.request({ method: 'POST', url: `/api/iam/groups/?org_id=${grandchild}`, token: viewer.session, payload: { name: 'x' } })).statusCode, 403);
      const grant = await app.request({ method: 'POST', url: '/api/iam/role-bindings/', payload: { user: viewer.id, organization: child, role: 'admin' } });
      assert.equal(grant.statusCode, 201, grant.body);
      // Admin in the child applies to the grandchild too (after the short cache).
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const created = await app.request({ method: 'POST', url: `/api/iam/groups/?org_id=${grandchild}`, token: viewer.session, payload: { name: 'x' } });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().organization, grandchild);
      assert.equal((await app.request({ method: 'POST', url: `/api/iam/groups/?org_id=${parent}`, token: viewer.session, payload: { name: 'y' } })).statusCode, 403);

      // An admin may not hand out, or take away, the owner role.
      const ownerGrant = await app.request({ method: 'POST', url: '/api/iam/role-bindings/', token: admin.session, payload: { user: viewer.id, organization: child, role: 'owner' } });
      assert.equal(ownerGrant.statusCode, 403);
      const rootOwner = (await app.request({ method: 'GET', url: '/api/iam/role-bindings/?role=owner' })).json().results[0];
      assert.equal((await app.request({ method: 'DELETE', url: `/api/iam/role-bindings/${rootOwner.id}/`, token: admin.session })).statusCode, 403);
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/users/${viewer.id}/`, token: admin.session, payload: { role: 'owner' } })).statusCode, 403);
      // Nor take over an owner's account.
      const ownerId = rootOwner.user;
      for (const [method, url, payload] of [
        ['POST', `/api/iam/users/${ownerId}/password/`, { password: 'quarry-meadow-60' }],
        ['PATCH', `/api/iam/users/${ownerId}/`, { is_active: false }],
        ['DELETE', `/api/iam/users/${ownerId}/`, undefined],
        ['POST', '/api/auth/credentials/', { user: ownerId }],
      ] as const) {
        const res = await app.request({ method, url, token: admin.session, ...(payload ? { payload } : {}) });
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
      }
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/users/${viewer.id}/`, token: admin.session, payload: { role: 'member' } })).json().role, 'member');
      const badRole = await app.request({ method: 'POST', url: '/api/iam/role-bindings/', payload: { user: viewer.id, role: 'emperor' } });
      assert.deepEqual(Object.keys(badRole.json()), ['role']);
    });

    it('enforces the users quota of an organization, set from its parent', async () => {
      const org = await addOrganization(app, 'Quota Org');
      const own = (await app.request({ method: 'GET', url: '/api/auth/whoami/' })).json().organization;
      const setOwn = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${own}/quotas/`, token: (await addUser(app, 'quinn', { role: 'owner' })).session, payload: { users: 1000 } });
      assert.equal(setOwn.statusCode, 403, 'nobody raises their own limits');
      const set = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org}/quotas/`, payload: { users: 1 } });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(set.json().users, 1);
      await addUser(app, 'q1', { organization: org });
      const over = await app.request({ method: 'POST', url: '/api/iam/users/', payload: { username: 'q2', password: GOOD_PASSWORD, organization: org } });
      assert.equal(over.statusCode, 403);
      assert.equal(over.json().code, 'quota_exceeded');
      assert.equal(over.json().limit, 1);
      const negative = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org}/quotas/`, payload: { users: -1 } });
      assert.equal(negative.statusCode, 400);
      const polluted = await app.request({ method: 'PUT', url: `/api/iam/organizations/${org}/quotas/`, payload: '{"__proto__": {"users": 5}, "servers": 2}', headers: { 'content-type': 'application/json' } });
      assert.equal(polluted.statusCode, 200, polluted.body);
      assert.deepEqual([polluted.json().users, polluted.json().servers], [1, 2]);
    });

    it('deletes an emptied organization together with its groups and role bindings', async () => {
      const org = await addOrganization(app, 'Short Lived');
      const user = await addUser(app, 'fleeting', { organization: org });
      await app.request({ method: 'POST', url: `/api/iam/groups/?org_id=${org}`, payload: { name: 'temp' } });
      assert.equal((await app.request({ method: 'DELETE', url: `/api/iam/users/${user.id}/` })).statusCode, 204);
      const deleted = await app.request({ method: 'DELETE', url: `/api/iam/organizations/${org}/` });
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.equal((await app.request({ method: 'GET', url: `/api/iam/groups/?name=temp` })).json().count, 0);
    });

    it('lets people edit their own profile but not their flags', async () => {
      const user = await addUser(app, 'paula');
      const renamed = await app.request({ method: 'PATCH', url: '/api/iam/users/-/', token: user.session, payload: { first_name: 'Paula', email: 'paula@example.com' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().first_name, 'Paula');
      assert.equal((await app.request({ method: 'PATCH', url: '/api/iam/users/-/', token: user.session, payload: { is_superuser: true } })).statusCode, 403);
      assert.equal((await app.request({ method: 'PATCH', url: '/api/iam/users/-/', token: user.session, payload: { email: 'not-an-email' } })).json().email[0], 'Enter a valid email address.');
    });
  });
}
