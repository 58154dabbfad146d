import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId, nowIso } from '../../../src/core/clock.ts';
import { hashPassword } from '../../../src/core/users/passwords.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { pkcePair, redirectParams, registerApplication, submitConsent, type RegisteredApplication } from '../../support/oauth.ts';

for (const database of testDatabases) {
  describe(`OAuth consent sign-in [${database.name}]`, () => {
    let app: TestApp;
    let client: RegisteredApplication;
    before(async () => {
      app = await startTestApp(database);
      client = await registerApplication(app);
      const now = nowIso();
      const passwordHash = await hashPassword('alice password');
      for (const [username, active] of [['alice', 1], ['retired', 0]] as const) {
        const { organization } = (await app.request({ method: 'GET', url: '/api/status/' })).json();
        await app.nimbus.store.db
          .insertInto('users')
          .values({ id: newId(), organization_id: organization.id, username, email: '', first_name: '', last_name: '', password_hash: passwordHash, is_active: active, is_staff: 0, is_superuser: 0, created_at: now, updated_at: now, last_login: null })
          .execute();
      }
    });
    after(() => app.close());

    const consent = (username: string, password: string, remoteAddress = '127.0.0.1') =>
      submitConsent(app, { client_id: client.client_id, scope: 'dns_read', username, password, remoteAddress, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });

    it('signs in any active user with their password; an inactive user cannot', async () => {
      assert.ok(redirectParams(await consent('alice', 'alice password')).get('code'));
      const retired = await consent('retired', 'alice password');
      assert.equal(retired.statusCode, 401);
      assert.match(retired.body, /Wrong user name or password/);
      const long = await consent('x'.repeat(1000), 'whatever');
      assert.equal(long.statusCode, 401);
    });

    it('throttles a user name after five failures from one address, even with the right password, and tells how long to wait', async () => {
      for (let i = 0; i < 5; i++) assert.equal((await consent('alice', `guess ${i}`, '10.0.0.1')).statusCode, 401);
      const blocked = await consent('alice', 'alice password', '10.0.0.1');
      assert.equal(blocked.statusCode, 429);
      assert.match(blocked.body, /Too many failed sign-ins/);
      const retryAfter = Number(blocked.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 900, String(retryAfter));
      // Alice still signs in from her own address; other users are not affected.
      assert.equal((await consent('alice', 'alice password', '10.0.0.2')).statusCode, 303);
      assert.equal((await consent('admin', app.adminPassword, '10.0.0.1')).statusCode, 303);
      // The consent page and the login endpoint count the same attempts.
      const login = await app.nimbus.http.inject({ method: 'POST', url: '/api/auth/login/', payload: { username: 'alice', password: 'alice password' }, remoteAddress: '10.0.0.1' });
      assert.equal(login.statusCode, 429);
    });

    it('throttles an address that sprays many user names', async () => {
      for (let i = 0; i < 20; i++) assert.equal((await consent(`user-${i}`, 'password', '10.9.9.9')).statusCode, 401);
      assert.equal((await consent('admin', app.adminPassword, '10.9.9.9')).statusCode, 429);
      assert.equal((await consent('admin', app.adminPassword, '10.9.9.10')).statusCode, 303);
    });
  });
}
