import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addToken, addUser, basic, bearer, GOOD_PASSWORD, login, type TestUser } from '../../support/identity.ts';
import { authorizationCodeTokens, registerApplication, tokenRequest } from '../../support/oauth.ts';

/** Role bindings are cached for up to two seconds per replica. */
const afterRoleCache = () => new Promise((resolve) => setTimeout(resolve, 2100));

for (const database of testDatabases) {
  describe(`privilege escalation through sub-organizations and scoped credentials [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    it("keeps a sub-organization's admin from managing a user who also holds a role above it", async () => {
      const parent = await addOrganization(app, 'Takeover Parent');
      const child = await addOrganization(app, 'Takeover Child', { parent });
      const childAdmin = await addUser(app, 'child-admin', { organization: child, role: 'admin' });
      // Tom lives in the child organization and is an admin of its parent.
      const tom = await addUser(app, 'tom', { organization: child, role: 'member' });
      const grant = await app.request({ method: 'POST', url: '/api/iam/role-bindings/', payload: { user: tom.id, organization: parent, role: 'admin' } });
      assert.equal(grant.statusCode, 201, grant.body);
      const plain = await addUser(app, 'plain', { organization: child, role: 'member' });
      await afterRoleCache();

      const takeovers = (id: string) =>
        [
          ['POST', `/api/iam/users/${id}/password/`, { password: 'quarry-meadow-61' }],
          ['POST', '/api/auth/credentials/', { user: id }],
          ['PATCH', `/api/iam/users/${id}/`, { email: 'attacker@example.com' }],
          ['PATCH', `/api/iam/users/${id}/`, { is_active: false }],
          ['DELETE', `/api/iam/users/${id}/`, undefined],
        ] as const;
      // The child's admin sees Tom, but may not touch his account.
      assert.equal((await app.request({ method: 'GET', url: `/api/iam/users/${tom.id}/`, token: childAdmin.session })).statusCode, 200);
      for (const [method, url, payload] of takeovers(tom.id)) {
        const res = await app.request({ method, url, token: childAdmin.session, ...(payload ? { payload } : {}) });
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().code, 'permission_denied');
      }
      // Nothing changed: Tom still logs in with his password and is active.
      const tomNow = (await app.request({ method: 'GET', url: `/api/iam/users/${tom.id}/` })).json();
      assert.deepEqual([tomNow.is_active, tomNow.email], [true, '']);
      await login(app, 'tom', GOOD_PASSWORD);
      const pairs = await app.request({ method: 'GET', url: '/api/auth/credentials/', token: tom.session });
      assert.equal(pairs.json().count, 0);

      // The same admin still manages a user whose roles it could grant; the parent's admins manage Tom.
      for (const [method, url, payload] of takeovers(plain.id)) {
        const res = await app.request({ method, url, token: childAdmin.session, ...(payload ? { payload } : {}) });
        assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
      }
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/users/${tom.id}/`, payload: { first_name: 'Tom' } })).statusCode, 200);
    });

    it('keeps a credential pair within the scopes of the token that generated it', async () => {
      const member = await addUser(app, 'pat', { role: 'admin' });
      const credentialsOnly = await addToken(app, member.session, ['credential:write']);
      const generated = await app.request({ method: 'POST', url: '/api/auth/credentials/', token: credentialsOnly.key, payload: {} });
      assert.equal(generated.statusCode, 201, generated.body);
      assert.deepEqual(generated.json().scopes, ['credential:write']);
      const pair = basic(generated.json().username, generated.json().password);
      const users = await app.request({ method: 'GET', url: '/api/iam/users/', token: null, headers: pair });
      assert.equal(users.statusCode, 403, users.body);
      assert.equal(users.json().code, 'api_token_acl_not_allowed');
      const widerToken = await app.request({ method: 'POST', url: '/api/auth/tokens/', token: null, headers: pair, payload: { name: 'wider', scopes: ['*'] } });
      assert.equal(widerToken.statusCode, 403, widerToken.body);
      // A pair made by a full credential carries everything the user may do.
      const full = await app.request({ method: 'POST', url: '/api/auth/credentials/', token: member.session, payload: {} });
      assert.deepEqual(full.json().scopes, ['*']);
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/users/', token: null, headers: basic(full.json().username, full.json().password) })).statusCode, 200);
    });

    it('needs the role permission to set a role, through the users endpoints too', async () => {
      const member = await addUser(app, 'mona', { role: 'member' });
      const usersOnly = await addToken(app, app.token, ['user:write', 'user:read']);
      for (const payload of [
        { username: 'new-admin', password: GOOD_PASSWORD, role: 'admin' },
        { username: 'new-member', password: GOOD_PASSWORD },
      ]) {
        const res = await app.request({ method: 'POST', url: '/api/iam/users/', token: usersOnly.key, payload });
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(res.json().code, 'api_token_acl_not_allowed');
      }
      const promote = await app.request({ method: 'PATCH', url: `/api/iam/users/${member.id}/`, token: usersOnly.key, payload: { role: 'admin' } });
      assert.equal(promote.statusCode, 403, promote.body);
      // Managing another user's account is managing its roles: a user:write token cannot reset a member's password.
      const reset = await app.request({ method: 'POST', url: `/api/iam/users/${member.id}/password/`, token: usersOnly.key, payload: { password: 'quarry-meadow-62' } });
      assert.equal(reset.statusCode, 403, reset.body);
      assert.equal((await app.request({ method: 'GET', url: `/api/iam/users/?username=new-admin` })).json().count, 0);
      assert.equal((await app.request({ method: 'GET', url: `/api/iam/users/${member.id}/` })).json().role, 'member');
      // With the role permission as well, both work.
      const usersAndRoles = await addToken(app, app.token, ['user:*', 'role:write']);
      assert.equal((await app.request({ method: 'POST', url: '/api/iam/users/', token: usersAndRoles.key, payload: { username: 'new-admin', password: GOOD_PASSWORD, role: 'admin' } })).statusCode, 201);
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/users/${member.id}/`, token: usersAndRoles.key, payload: { role: 'viewer' } })).json().role, 'viewer');
    });

    it('needs a scope naming self-service for editing oneself', async () => {
      const user: TestUser = await addUser(app, 'sam', { role: 'member' });
      const serversOnly = await addToken(app, user.session, ['server:read']);
      for (const [url, payload] of [
        ['/api/iam/users/-/', { username: 'sam2', email: 'sam@example.com' }],
        ['/api/iam/users/-/password/', { old_password: GOOD_PASSWORD, password: 'quarry-meadow-63' }],
      ] as const) {
        const res = await app.request({ method: url.endsWith('password/') ? 'POST' : 'PATCH', url, token: serversOnly.key, payload });
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(res.json().code, 'api_token_acl_not_allowed');
      }
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/users/-/', token: serversOnly.key })).json().username, 'sam');
      const profile = await addToken(app, user.session, ['profile:write']);
      const renamed = await app.request({ method: 'PATCH', url: '/api/iam/users/-/', token: profile.key, payload: { email: 'sam@example.com' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      // profile:write is about oneself only.
      assert.equal((await app.request({ method: 'PATCH', url: '/api/iam/users/-/', token: profile.key, payload: { is_active: false } })).statusCode, 403);
    });

    it("limits an OAuth application's profile scopes to its user's own profile", async () => {
      const client = await registerApplication(app, { name: 'Profile editor', scopes: ['profile_read', 'profile_write'] });
      const { access_token: accessToken } = await authorizationCodeTokens(app, client, 'profile_read profile_write');
      const asApp = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => app.request({ method, url, token: null, headers: bearer(accessToken), ...(payload ? { payload } : {}) });
      const victim = await addUser(app, 'victor', { role: 'member' });
      assert.equal((await asApp('PATCH', '/api/iam/users/-/', { first_name: 'Ada' })).statusCode, 200);
      for (const [method, url, payload] of [
        ['GET', '/api/iam/users/', undefined],
        ['POST', '/api/iam/users/', { username: 'oauth-admin', password: GOOD_PASSWORD, role: 'admin' }],
        ['POST', `/api/iam/users/${victim.id}/password/`, { password: 'quarry-meadow-64' }],
        ['PATCH', `/api/iam/users/${victim.id}/`, { role: 'admin' }],
      ] as const) {
        const res = await asApp(method, url, payload);
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
      }
    });

    it('keeps a password grant within the scopes of the credential pair it exchanges', async () => {
      const client = await registerApplication(app, { name: 'Password grant', scopes: ['dns_read', 'dns_write'] });
      assert.equal((await app.request({ method: 'PATCH', url: '/api/oauth/settings/', payload: { password_grant: true } })).statusCode, 200);
      const user = await addUser(app, 'gary', { role: 'member' });
      const dnsRead = await addToken(app, user.session, ['dns_zone:read', 'dns_record:read', 'credential:write']);
      const pair = (await app.request({ method: 'POST', url: '/api/auth/credentials/', token: dnsRead.key, payload: {} })).json();
      const wide = await tokenRequest(app, client, { grant_type: 'password', username: pair.username, password: pair.password, scope: 'dns_write' });
      assert.equal(wide.statusCode, 400, wide.body);
      assert.equal(wide.json().error, 'invalid_scope');
      const narrow = await tokenRequest(app, client, { grant_type: 'password', username: pair.username, password: pair.password, scope: 'dns_read' });
      assert.equal(narrow.statusCode, 200, narrow.body);
    });
  });
}
