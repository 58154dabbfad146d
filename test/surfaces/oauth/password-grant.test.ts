import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addUser, GOOD_PASSWORD, type TestUser } from '../../support/identity.ts';
import { registerApplication, tokenRequest, type RegisteredApplication } from '../../support/oauth.ts';

for (const database of testDatabases) {
  describe(`OAuth password grant with API credentials [${database.name}]`, () => {
    let app: TestApp;
    let client: RegisteredApplication;
    let carol: TestUser;
    before(async () => {
      app = await startTestApp(database);
      client = await registerApplication(app);
      carol = await addUser(app, 'carol', { role: 'member' });
    });
    after(() => app.close());

    const newCredentials = async (user: TestUser) => {
      const res = await app.request({ method: 'POST', url: '/api/auth/credentials/', token: user.session, payload: {} });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { id: string; username: string; password: string };
    };
    const passwordGrant = (username: string, password: string, extra: Record<string, string> = {}) =>
      tokenRequest(app, client, { grant_type: 'password', username, password, ...extra });
    const setPasswordGrant = (enabled: unknown, token?: string) => app.request({ method: 'PATCH', url: '/api/oauth/settings/', token, payload: { password_grant: enabled } });
    const whoamiWith = (accessToken: string) => app.request({ method: 'GET', url: '/api/auth/whoami/', token: null, headers: { authorization: `Bearer ${accessToken}` } });

    it('is off until the organization turns it on, and says how to turn it on', async () => {
      const settings = await app.request({ method: 'GET', url: '/api/oauth/settings/' });
      assert.equal(settings.statusCode, 200, settings.body);
      assert.equal(settings.json().password_grant, false);
      const pair = await newCredentials(carol);
      const refused = await passwordGrant(pair.username, pair.password);
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().error, 'unauthorized_client');
      assert.match(refused.json().error_description, /PATCH \/api\/oauth\/settings\//);
    });

    it('only someone who may change the organization turns it on; bad input changes nothing', async () => {
      const denied = await setPasswordGrant(true, carol.session);
      assert.equal(denied.statusCode, 403, denied.body);
      const bad = await setPasswordGrant('yes');
      assert.equal(bad.statusCode, 400, bad.body);
      assert.ok(bad.json().password_grant, bad.body);
      assert.equal((await app.request({ method: 'GET', url: '/api/oauth/settings/' })).json().password_grant, false);
      const enabled = await setPasswordGrant(true);
      assert.equal(enabled.statusCode, 200, enabled.body);
      assert.equal(enabled.json().password_grant, true);
      const audit = await app.request({ method: 'GET', url: '/api/audit/activity/?cursor=' });
      assert.ok(audit.json().results.some((e: { action: string }) => e.action === 'oauth_settings_changed'), audit.body);
    });

    it('exchanges API credentials for tokens that act as the user within the scopes', async () => {
      await setPasswordGrant(true);
      const pair = await newCredentials(carol);
      const res = await passwordGrant(pair.username, pair.password, { scope: 'profile_read' });
      assert.equal(res.statusCode, 200, res.body);
      const tokens = res.json();
      assert.equal(tokens.scope, 'profile_read');
      assert.match(tokens.access_token, /^nboat_/);
      assert.match(tokens.refresh_token, /^nbort_/);
      const me = await whoamiWith(tokens.access_token);
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().username, 'carol');
      // profile_read does not cover creating organizations, whatever the user's roles.
      const beyond = await app.request({ method: 'GET', url: '/api/tasks/tasks/', token: null, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(beyond.statusCode, 403, beyond.body);
      // The user sees the application among the ones they authorized, and can take it back.
      const authorizations = await app.request({ method: 'GET', url: '/api/oauth/authorizations/', token: carol.session });
      assert.equal(authorizations.json().results[0].application.client_id, client.client_id);
      const refreshed = await tokenRequest(app, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
    });

    it('refuses the login password, a wrong secret and scopes the application may not ask for', async () => {
      await setPasswordGrant(true);
      const pair = await newCredentials(carol);
      const login = await passwordGrant('carol', GOOD_PASSWORD);
      assert.equal(login.json().error, 'invalid_grant');
      assert.match(login.json().error_description, /API credentials/);
      const wrong = await passwordGrant(pair.username, `${pair.password.slice(0, -4)}AAAA`);
      assert.equal(wrong.json().error, 'invalid_grant');
      const missing = await passwordGrant(pair.username, '');
      assert.equal(missing.json().error, 'invalid_request');
      const escalation = await passwordGrant(pair.username, pair.password, { scope: 'project_write' });
      assert.equal(escalation.json().error, 'invalid_scope');
    });

    it('new API credentials end every grant issued from the old ones', async () => {
      await setPasswordGrant(true);
      const pair = await newCredentials(carol);
      const tokens = (await passwordGrant(pair.username, pair.password)).json();
      assert.equal((await whoamiWith(tokens.access_token)).statusCode, 200);
      await newCredentials(carol);
      assert.equal((await whoamiWith(tokens.access_token)).statusCode, 401);
      assert.deepEqual((await tokenRequest(app, client, { token: tokens.access_token }, '/api/oauth/introspect')).json(), { active: false });
      const refreshed = await tokenRequest(app, client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      assert.equal(refreshed.json().error, 'invalid_grant');
      assert.equal((await passwordGrant(pair.username, pair.password)).json().error, 'invalid_grant');
    });

    it('turned off again, it refuses new exchanges', async () => {
      await setPasswordGrant(true);
      const pair = await newCredentials(carol);
      assert.equal((await passwordGrant(pair.username, pair.password)).statusCode, 200);
      await setPasswordGrant(false);
      assert.equal((await passwordGrant(pair.username, pair.password)).json().error, 'unauthorized_client');
      const metadata = await app.request({ method: 'GET', url: '/.well-known/oauth-authorization-server', token: null });
      assert.ok(metadata.json().grant_types_supported.includes('password'));
    });
  });
}
