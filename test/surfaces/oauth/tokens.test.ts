import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { authorizationCodeTokens, basicAuth, formPost, registerApplication, tokenRequest, type RegisteredApplication } from '../../support/oauth.ts';

for (const database of testDatabases) {
  describe(`OAuth tokens: refresh, client credentials, revocation, introspection [${database.name}]`, () => {
    let app: TestApp;
    let client: RegisteredApplication;
    before(async () => {
      app = await startTestApp(database);
      client = await registerApplication(app);
    });
    after(() => app.close());

    const statusWith = (accessToken: string) => app.request({ method: 'GET', url: '/api/status/', token: null, headers: { authorization: `Bearer ${accessToken}` } });
    const refresh = (refreshToken: string, extra: Record<string, string> = {}, as: RegisteredApplication = client) =>
      tokenRequest(app, as, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });
    const introspect = (token: string, as: RegisteredApplication = client) => tokenRequest(app, as, { token }, '/api/oauth/introspect');

    it('rotates the refresh token on every use', async () => {
      const first = await authorizationCodeTokens(app, client);
      const second = await refresh(first.refresh_token);
      assert.equal(second.statusCode, 200, second.body);
      const body = second.json();
      assert.notEqual(body.refresh_token, first.refresh_token);
      assert.notEqual(body.access_token, first.access_token);
      assert.equal(body.scope, 'dns_read profile_read');
      assert.equal((await statusWith(body.access_token)).statusCode, 200);
      assert.equal((await refresh(body.refresh_token)).statusCode, 200);
    });

    it('reuse of a rotated refresh token revokes the whole grant', async () => {
      const first = await authorizationCodeTokens(app, client);
      const rotated = (await refresh(first.refresh_token)).json();
      const reused = await refresh(first.refresh_token);
      assert.equal(reused.statusCode, 400);
      assert.equal(reused.json().error, 'invalid_grant');
      assert.match(reused.json().error_description, /already used/);
      // Every token of the grant is dead: the legitimate holder's newest pair too.
      assert.equal((await statusWith(rotated.access_token)).statusCode, 401);
      assert.equal((await statusWith(first.access_token)).statusCode, 401);
      assert.equal((await refresh(rotated.refresh_token)).json().error, 'invalid_grant');
      assert.deepEqual((await introspect(rotated.access_token)).json(), { active: false });
    });

    it('two concurrent refreshes with one token: one wins, the reuse kills the grant', async () => {
      const first = await authorizationCodeTokens(app, client);
      const results = await Promise.all([refresh(first.refresh_token), refresh(first.refresh_token)]);
      assert.ok(results.some((r) => r.statusCode === 400));
      for (const r of results.filter((r) => r.statusCode === 200)) assert.equal((await statusWith(r.json().access_token)).statusCode, 401);
    });

    it('a refresh may narrow the scope but never widen it, and belongs to its client', async () => {
      const first = await authorizationCodeTokens(app, client, 'dns_read');
      const wider = await refresh(first.refresh_token, { scope: 'dns_read dns_write' });
      assert.equal(wider.statusCode, 400);
      assert.equal(wider.json().error, 'invalid_scope');
      const other = await registerApplication(app, { name: 'Other' });
      assert.equal((await refresh(first.refresh_token, {}, other)).json().error, 'invalid_grant');
      const narrow = await refresh(first.refresh_token, { scope: 'dns_read' });
      assert.equal(narrow.statusCode, 200, narrow.body);
      assert.equal(narrow.json().scope, 'dns_read');
      assert.equal((await refresh(`nbort_${'x'.repeat(36)}`)).json().error, 'invalid_grant');
    });

    it('client_credentials gives a public-scope token with no user and no refresh token', async () => {
      const res = await tokenRequest(app, client, { grant_type: 'client_credentials' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.scope, 'public');
      assert.equal(body.refresh_token, undefined);
      const status = await statusWith(body.access_token);
      assert.equal(status.statusCode, 200, status.body);
      assert.equal(status.json().user.username, `oauth-client:${client.client_id}`);
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/organizations/', token: null, headers: { authorization: `Bearer ${body.access_token}` } })).statusCode, 403);
      const escalated = await tokenRequest(app, client, { grant_type: 'client_credentials', scope: 'public dns_read' });
      assert.equal(escalated.statusCode, 400);
      assert.equal(escalated.json().error, 'invalid_scope');
      const publicClient = await registerApplication(app, { client_type: 'public', name: 'SPA' });
      const refused = await formPost(app, '/api/oauth/token', { grant_type: 'client_credentials', client_id: publicClient.client_id });
      assert.equal(refused.json().error, 'unauthorized_client');
    });

    it('refuses the implicit and unknown grants, and a wrong or missing client secret', async () => {
      for (const grant of ['implicit', 'urn:ietf:params:oauth:grant-type:device_code']) {
        const res = await tokenRequest(app, client, { grant_type: grant, username: 'admin', password: app.adminPassword });
        assert.equal(res.statusCode, 400);
        assert.equal(res.json().error, 'unsupported_grant_type');
      }
      const wrongSecret = await formPost(app, '/api/oauth/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(client.client_id, `${client.client_secret!.slice(0, -1)}${client.client_secret!.endsWith('x') ? 'y' : 'x'}`) });
      assert.equal(wrongSecret.statusCode, 401);
      assert.equal(wrongSecret.json().error, 'invalid_client');
      assert.match(String(wrongSecret.headers['www-authenticate']), /^Basic/);
      const postSecret = await formPost(app, '/api/oauth/token', { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret! });
      assert.equal(postSecret.statusCode, 200);
      const noSecret = await formPost(app, '/api/oauth/token', { grant_type: 'client_credentials', client_id: client.client_id });
      assert.equal(noSecret.json().error, 'invalid_client');
      const both = await formPost(app, '/api/oauth/token', { grant_type: 'client_credentials', client_secret: client.client_secret! }, { authorization: basicAuth(client.client_id, client.client_secret!) });
      assert.equal(both.json().error, 'invalid_request');
      const json = await app.request({ method: 'POST', url: '/api/oauth/token', token: null, payload: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret } });
      assert.equal(json.statusCode, 200, json.body);
    });

    it('introspects its own live tokens and answers only {"active": false} otherwise', async () => {
      const tokens = await authorizationCodeTokens(app, client);
      const access = await introspect(tokens.access_token);
      assert.equal(access.statusCode, 200);
      const body = access.json();
      assert.equal(body.active, true);
      assert.equal(body.scope, 'dns_read profile_read');
      assert.equal(body.client_id, client.client_id);
      assert.equal(body.username, 'admin');
      assert.equal(body.token_type, 'Bearer');
      assert.ok(body.exp - body.iat === 3600);
      assert.equal((await introspect(tokens.refresh_token)).json().token_type, 'refresh_token');
      const other = await registerApplication(app, { name: 'Nosy' });
      assert.deepEqual((await introspect(tokens.access_token, other)).json(), { active: false });
      assert.deepEqual((await introspect('not-a-token')).json(), { active: false });

      const unauthenticated = await formPost(app, '/api/oauth/introspect', { token: tokens.access_token });
      assert.equal(unauthenticated.statusCode, 401);
      assert.equal(unauthenticated.json().error, 'invalid_client');
      const publicClient = await registerApplication(app, { client_type: 'public', name: 'Public' });
      const byPublic = await formPost(app, '/api/oauth/introspect', { token: tokens.access_token, client_id: publicClient.client_id });
      assert.equal(byPublic.statusCode, 401);
    });

    it('revocation: an access token alone, a refresh token with its grant; unknown tokens still answer 200', async () => {
      const tokens = await authorizationCodeTokens(app, client);
      const revokeAccess = await tokenRequest(app, client, { token: tokens.access_token, token_type_hint: 'access_token' }, '/api/oauth/revoke');
      assert.equal(revokeAccess.statusCode, 200);
      assert.equal((await statusWith(tokens.access_token)).statusCode, 401);
      const renewed = await refresh(tokens.refresh_token);
      assert.equal(renewed.statusCode, 200, 'revoking an access token leaves the refresh token');

      const { access_token, refresh_token } = renewed.json();
      const other = await registerApplication(app, { name: 'Intruder' });
      assert.equal((await tokenRequest(app, other, { token: refresh_token }, '/api/oauth/revoke')).statusCode, 200);
      assert.equal((await statusWith(access_token)).statusCode, 200, "another client cannot revoke this client's tokens");

      assert.equal((await tokenRequest(app, client, { token: refresh_token }, '/api/oauth/revoke')).statusCode, 200);
      assert.equal((await statusWith(access_token)).statusCode, 401);
      assert.equal((await refresh(refresh_token)).json().error, 'invalid_grant');
      assert.equal((await tokenRequest(app, client, { token: 'nboat_garbage' }, '/api/oauth/revoke')).statusCode, 200);
      const noToken = await tokenRequest(app, client, {}, '/api/oauth/revoke');
      assert.equal(noToken.json().error, 'invalid_request');
      const unauthenticated = await formPost(app, '/api/oauth/revoke', { token: refresh_token });
      assert.equal(unauthenticated.statusCode, 401);
    });

    it('an expired access token is refused by the API and inactive in introspection', async () => {
      const tokens = await authorizationCodeTokens(app, client);
      await app.nimbus.store.db.updateTable('oauth_tokens').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('kind', '=', 'access').execute();
      const res = await statusWith(tokens.access_token);
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'token_expired');
      assert.deepEqual((await introspect(tokens.access_token)).json(), { active: false });
    });

    it('lists the applications a user authorized and revokes one with all its tokens', async () => {
      const mine = await registerApplication(app, { name: 'Listed app' });
      const tokens = await authorizationCodeTokens(app, mine);
      const listed = await app.request({ method: 'GET', url: `/api/oauth/authorizations/?client_id=${mine.client_id}` });
      assert.equal(listed.statusCode, 200, listed.body);
      const [authorization] = listed.json().results;
      assert.equal(listed.json().count, 1);
      assert.deepEqual(authorization.application, { id: mine.id, name: 'Listed app', client_id: mine.client_id });
      assert.deepEqual(authorization.scopes, ['dns_read', 'profile_read']);
      // An OAuth token cannot manage authorizations, not even its own.
      const byOauth = await app.request({ method: 'DELETE', url: `/api/oauth/authorizations/${authorization.id}/`, token: null, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(byOauth.statusCode, 403);

      const revoked = await app.request({ method: 'DELETE', url: `/api/oauth/authorizations/${authorization.id}/` });
      assert.equal(revoked.statusCode, 204);
      assert.equal((await statusWith(tokens.access_token)).statusCode, 401);
      assert.equal((await refresh(tokens.refresh_token, {}, mine)).json().error, 'invalid_grant');
      assert.equal((await app.request({ method: 'GET', url: `/api/oauth/authorizations/?client_id=${mine.client_id}` })).json().count, 0);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/oauth/authorizations/${authorization.id}/` })).statusCode, 404);
    });

    it('publishes RFC 8414 metadata', async () => {
      const res = await app.request({ method: 'GET', url: '/.well-known/oauth-authorization-server', token: null });
      assert.equal(res.statusCode, 200);
      const meta = res.json();
      assert.equal(meta.issuer, 'http://localhost:80');
      assert.equal(meta.token_endpoint, 'http://localhost:80/api/oauth/token');
      assert.equal(meta.authorization_endpoint, 'http://localhost:80/api/oauth/authorize');
      assert.equal(meta.revocation_endpoint, 'http://localhost:80/api/oauth/revoke');
      assert.equal(meta.introspection_endpoint, 'http://localhost:80/api/oauth/introspect');
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(meta.response_types_supported, ['code']);
      assert.ok(!meta.grant_types_supported.includes('implicit'));
      assert.equal(meta.scopes_supported.length, 12);
    });
  });
}
