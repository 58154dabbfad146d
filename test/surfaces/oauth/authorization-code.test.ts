import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import {
  authorizeQuery,
  cookiesOf,
  csrfTokenOf,
  formPost,
  obtainCode,
  pkcePair,
  REDIRECT_URI,
  redirectParams,
  registerApplication,
  submitConsent,
  tokenRequest,
  type RegisteredApplication,
} from '../../support/oauth.ts';

for (const database of testDatabases) {
  describe(`OAuth authorization code grant [${database.name}]`, () => {
    let app: TestApp;
    let confidential: RegisteredApplication;
    let publicClient: RegisteredApplication;
    before(async () => {
      app = await startTestApp(database);
      confidential = await registerApplication(app, { name: 'Dashboard <b>Pro</b>' });
      publicClient = await registerApplication(app, { name: 'CLI', client_type: 'public', redirect_uris: ['http://127.0.0.1/callback', 'com.example.cli:/done'] });
      // Most tests here drive the flow without PKCE; the PKCE rules have their own tests.
      await allowConfidentialWithoutPkce(true);
    });
    after(() => app.close());

    async function allowConfidentialWithoutPkce(allowed: boolean) {
      const res = await app.request({ method: 'PATCH', url: '/api/oauth/settings/', payload: { pkce_optional_for_confidential: allowed } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().pkce_optional_for_confidential, allowed);
    }

    const pageFor = (params: Record<string, string | undefined>) =>
      app.request({ method: 'GET', url: `/api/oauth/authorize?${authorizeQuery({ response_type: 'code', redirect_uri: REDIRECT_URI, ...params })}`, token: null });

    it('serves a consent page that lists the scopes in plain words, escapes names and cannot be framed', async () => {
      const page = await pageFor({ client_id: confidential.client_id, scope: 'profile_read dns_write', state: 'xyz' });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.body, /See your profile \(name, email\)/);
      assert.match(page.body, /See, create, change and delete your DNS zones and records/);
      assert.doesNotMatch(page.body, /Dashboard <b>Pro<\/b>/);
      assert.match(page.body, /Dashboard &lt;b&gt;Pro&lt;\/b&gt;/);
      assert.equal(page.headers['x-frame-options'], 'DENY');
      const csp = String(page.headers['content-security-policy']);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /form-action 'self' https:\/\/client\.example/);
      assert.doesNotMatch(csp, /script-src/);
      assert.equal(page.headers['cache-control'], 'no-store');
      const cookie = String(page.headers['set-cookie']);
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Lax/);
      assert.match(cookie, /Path=\/api\/oauth\//);
    });

    it('issues tokens for a code with PKCE, passing state and iss through, and the token works on the API', async () => {
      const { verifier, challenge } = pkcePair();
      const approved = await submitConsent(app, { client_id: confidential.client_id, scope: 'profile_read', state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256' });
      assert.equal(approved.statusCode, 303);
      const params = redirectParams(approved);
      assert.equal(String(approved.headers.location).split('?')[0], REDIRECT_URI);
      assert.equal(params.get('state'), 'st-1');
      assert.equal(params.get('iss'), 'http://localhost:80');
      assert.match(String(approved.headers['set-cookie']), /nimbus_oauth_session=nbses_/);

      const res = await tokenRequest(app, confidential, { grant_type: 'authorization_code', code: params.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: verifier });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const tokens = res.json();
      assert.match(tokens.access_token, /^nboat_/);
      assert.match(tokens.refresh_token, /^nbort_/);
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(tokens.expires_in, 3600);
      assert.equal(tokens.scope, 'profile_read');

      const status = await app.request({ method: 'GET', url: '/api/status/', token: null, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(status.statusCode, 200, status.body);
      assert.equal(status.json().user.username, 'admin');
      // profile_read does not reach organizations or OAuth applications, even for a superuser.
      const orgs = await app.request({ method: 'GET', url: '/api/iam/organizations/', token: null, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(orgs.statusCode, 403);
      assert.equal(orgs.json().code, 'api_token_acl_not_allowed');
      const apps = await app.request({ method: 'GET', url: '/api/oauth/applications/', token: null, headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(apps.statusCode, 403);
      assert.doesNotMatch(app.logs(), new RegExp(tokens.access_token));
      assert.doesNotMatch(app.logs(), new RegExp(params.get('code')!));
    });

    it('a signed-in browser session approves without the password again', async () => {
      const first = await submitConsent(app, { client_id: confidential.client_id, scope: 'dns_read' });
      const session = cookiesOf(first);
      const page = await app.request({ method: 'GET', url: `/api/oauth/authorize?${authorizeQuery({ response_type: 'code', client_id: confidential.client_id, redirect_uri: REDIRECT_URI, scope: 'dns_read' })}`, token: null, headers: { cookie: session } });
      assert.match(page.body, /Signed in as <strong>admin<\/strong>/);
      assert.doesNotMatch(page.body, /type="password"/);
      const cookies = [session, cookiesOf(page)].filter(Boolean).join('; ');
      const approved = await formPost(
        app,
        '/api/oauth/authorize',
        { response_type: 'code', client_id: confidential.client_id, redirect_uri: REDIRECT_URI, scope: 'dns_read', csrf_token: csrfTokenOf(page.body), decision: 'approve' },
        { cookie: cookies },
      );
      assert.ok(redirectParams(approved).get('code'));
    });

    it('refuses a wrong password on the page and issues nothing', async () => {
      const res = await submitConsent(app, { client_id: confidential.client_id, scope: 'dns_read', password: 'wrong password' });
      assert.equal(res.statusCode, 401);
      assert.match(res.body, /Wrong user name or password/);
      const unknown = await submitConsent(app, { client_id: confidential.client_id, scope: 'dns_read', username: 'nobody' });
      assert.equal(unknown.statusCode, 401);
      assert.equal(res.headers.location, undefined);
    });

    it('a denial returns access_denied with the state', async () => {
      const params = redirectParams(await submitConsent(app, { client_id: confidential.client_id, scope: 'dns_read', state: 'deny-me', decision: 'deny' }));
      assert.equal(params.get('error'), 'access_denied');
      assert.equal(params.get('state'), 'deny-me');
      assert.equal(params.get('code'), null);
    });

    it('refuses a post without a valid CSRF token, or from another origin', async () => {
      const page = await pageFor({ client_id: confidential.client_id, scope: 'dns_read' });
      const form = { response_type: 'code', client_id: confidential.client_id, redirect_uri: REDIRECT_URI, scope: 'dns_read', decision: 'approve', username: 'admin', password: app.adminPassword };
      const noCookie = await formPost(app, '/api/oauth/authorize', { ...form, csrf_token: csrfTokenOf(page.body) });
      assert.equal(noCookie.statusCode, 403);
      const forged = await formPost(app, '/api/oauth/authorize', { ...form, csrf_token: 'A'.repeat(43) }, { cookie: cookiesOf(page) });
      assert.equal(forged.statusCode, 403);
      const crossSite = await formPost(app, '/api/oauth/authorize', { ...form, csrf_token: csrfTokenOf(page.body) }, { cookie: cookiesOf(page), origin: 'https://evil.example' });
      assert.equal(crossSite.statusCode, 403);
      assert.match(crossSite.body, /did not come from this site/);
      const fetchedCrossSite = await formPost(app, '/api/oauth/authorize', { ...form, csrf_token: csrfTokenOf(page.body) }, { cookie: cookiesOf(page), 'sec-fetch-site': 'cross-site' });
      assert.equal(fetchedCrossSite.statusCode, 403);
      const nullOrigin = await formPost(app, '/api/oauth/authorize', { ...form, csrf_token: csrfTokenOf(page.body) }, { cookie: cookiesOf(page), origin: 'null' });
      assert.equal(nullOrigin.statusCode, 403);
      // The same post with its cookie, from this origin, goes through.
      const sameOrigin = await formPost(app, '/api/oauth/authorize', { ...form, csrf_token: csrfTokenOf(page.body) }, { cookie: cookiesOf(page), origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' });
      assert.equal(sameOrigin.statusCode, 303);
    });

    it('shows an unknown client or an unregistered redirect URI on its own page, never redirecting', async () => {
      const unknown = await pageFor({ client_id: 'no-such-client', scope: 'dns_read' });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.headers.location, undefined);
      assert.match(unknown.body, /No application has this client_id/);
      for (const redirect of ['https://client.example/callback/', 'https://client.example/callback?x=1', 'https://evil.example/callback', 'https://client.example:8443/callback']) {
        const res = await pageFor({ client_id: confidential.client_id, redirect_uri: redirect, scope: 'dns_read' });
        assert.equal(res.statusCode, 400, redirect);
        assert.equal(res.headers.location, undefined);
        assert.match(res.body, /does not match any URI registered/);
      }
    });

    it('lets only the port vary on a loopback redirect URI', async () => {
      const { challenge } = pkcePair();
      const base = { client_id: publicClient.client_id, scope: 'dns_read', code_challenge: challenge, code_challenge_method: 'S256' };
      assert.equal((await pageFor({ ...base, redirect_uri: 'http://127.0.0.1:51234/callback' })).statusCode, 200);
      assert.equal((await pageFor({ ...base, redirect_uri: 'com.example.cli:/done' })).statusCode, 200);
      assert.equal((await pageFor({ ...base, redirect_uri: 'http://127.0.0.1:51234/other' })).statusCode, 400);
      assert.equal((await pageFor({ ...base, redirect_uri: 'http://localhost:51234/callback' })).statusCode, 400);
    });

    it('sends other request errors back to the client: implicit grant, unknown or unallowed scope, missing or plain PKCE', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ client_id: confidential.client_id, response_type: 'token', scope: 'dns_read' }, 'unsupported_response_type'],
        [{ client_id: confidential.client_id, scope: 'dns_read superpowers' }, 'invalid_scope'],
        [{ client_id: confidential.client_id, scope: 'images_write' }, 'invalid_scope'],
        [{ client_id: publicClient.client_id, redirect_uri: 'http://127.0.0.1/callback', scope: 'dns_read' }, 'invalid_request'],
        [{ client_id: confidential.client_id, scope: 'dns_read', code_challenge: pkcePair().verifier, code_challenge_method: 'plain' }, 'invalid_request'],
        [{ client_id: confidential.client_id, scope: 'dns_read', code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request'],
      ];
      for (const [params, error] of cases) {
        const res = await pageFor({ state: 's', ...params });
        assert.equal(res.statusCode, 302, JSON.stringify(params));
        const back = redirectParams(res);
        assert.equal(back.get('error'), error, JSON.stringify(params));
        assert.ok(back.get('error_description'));
        assert.equal(back.get('state'), 's');
      }
    });

    it('refuses a code with a missing or wrong verifier, a downgrade, a wrong redirect URI, another client or a wrong secret', async () => {
      const { verifier, challenge } = pkcePair();
      const code = await obtainCode(app, { client_id: confidential.client_id, scope: 'dns_read', code_challenge: challenge, code_challenge_method: 'S256' });
      const exchange = (params: Record<string, string | undefined>, client: RegisteredApplication | null = confidential) =>
        tokenRequest(app, client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...params });
      const expectError = async (res: Awaited<ReturnType<typeof exchange>>, status: number, error: string, description?: RegExp) => {
        assert.equal(res.statusCode, status, res.body);
        assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'error_description']);
        assert.equal(res.json().error, error);
        if (description) assert.match(res.json().error_description, description);
      };
      await expectError(await exchange({ code_verifier: undefined }), 400, 'invalid_grant', /code_verifier is required/);
      await expectError(await exchange({ code_verifier: pkcePair().verifier }), 400, 'invalid_grant', /does not match/);
      await expectError(await exchange({ redirect_uri: 'https://client.example/other' }), 400, 'invalid_grant', /redirect_uri/);
      await expectError(await exchange({}, { ...confidential, client_secret: `nbocs_${'A'.repeat(36)}` }), 401, 'invalid_client');
      const other = await registerApplication(app, { name: 'Other' });
      await expectError(await exchange({}, other), 400, 'invalid_grant');
      // After all those refusals the code still works once, with the right verifier.
      assert.equal((await exchange({})).statusCode, 200);

      const plainCode = await obtainCode(app, { client_id: confidential.client_id, scope: 'dns_read' });
      const downgrade = await tokenRequest(app, confidential, { grant_type: 'authorization_code', code: plainCode, redirect_uri: REDIRECT_URI, code_verifier: verifier });
      await expectError(downgrade, 400, 'invalid_grant', /had no code_challenge/);
    });

    it('requires PKCE of a confidential client unless its organization allows otherwise (RFC 9700)', async () => {
      await allowConfidentialWithoutPkce(false);
      try {
        const refused = redirectParams(await pageFor({ client_id: confidential.client_id, scope: 'dns_read', state: 'no-pkce' }));
        assert.equal(refused.get('error'), 'invalid_request');
        assert.match(refused.get('error_description')!, /PKCE is required/);
        assert.equal(refused.get('state'), 'no-pkce');
        const { verifier, challenge } = pkcePair();
        const code = await obtainCode(app, { client_id: confidential.client_id, scope: 'dns_read', code_challenge: challenge, code_challenge_method: 'S256' });
        assert.equal((await tokenRequest(app, confidential, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier })).statusCode, 200);
      } finally {
        await allowConfidentialWithoutPkce(true);
      }
    });

    it('a confidential client may skip PKCE where allowed; a public client authenticates by client_id only and must not send a secret', async () => {
      const code = await obtainCode(app, { client_id: confidential.client_id, scope: 'dns_read' });
      assert.equal((await tokenRequest(app, confidential, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI })).statusCode, 200);

      const { verifier, challenge } = pkcePair();
      const redirect = 'http://127.0.0.1:40000/callback';
      const publicCode = await obtainCode(app, { client_id: publicClient.client_id, redirect_uri: redirect, scope: 'dns_read', code_challenge: challenge, code_challenge_method: 'S256' });
      const withSecret = await tokenRequest(app, null, { grant_type: 'authorization_code', client_id: publicClient.client_id, client_secret: 'anything', code: publicCode, redirect_uri: redirect, code_verifier: verifier });
      assert.equal(withSecret.statusCode, 401);
      assert.equal(withSecret.json().error, 'invalid_client');
      const ok = await tokenRequest(app, null, { grant_type: 'authorization_code', client_id: publicClient.client_id, code: publicCode, redirect_uri: redirect, code_verifier: verifier });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.ok(ok.json().refresh_token);
    });

    it('a code used twice is refused and the tokens issued for it are revoked', async () => {
      const code = await obtainCode(app, { client_id: confidential.client_id, scope: 'dns_read' });
      const exchange = () => tokenRequest(app, confidential, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
      const first = await exchange();
      assert.equal(first.statusCode, 200);
      const second = await exchange();
      assert.equal(second.statusCode, 400);
      assert.equal(second.json().error, 'invalid_grant');
      assert.match(second.json().error_description, /already used/);
      const status = await app.request({ method: 'GET', url: '/api/status/', token: null, headers: { authorization: `Bearer ${first.json().access_token}` } });
      assert.equal(status.statusCode, 401);
      const refreshed = await tokenRequest(app, confidential, { grant_type: 'refresh_token', refresh_token: first.json().refresh_token });
      assert.equal(refreshed.json().error, 'invalid_grant');
    });

    it('an expired code is refused', async () => {
      const code = await obtainCode(app, { client_id: confidential.client_id, scope: 'dns_read' });
      await app.nimbus.store.db.updateTable('oauth_codes').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('used_at', 'is', null).execute();
      const res = await tokenRequest(app, confidential, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error, 'invalid_grant');
      assert.match(res.json().error_description, /expired/);
    });

    it('refuses a garbled code and a malformed request without changing anything', async () => {
      const garbled = await tokenRequest(app, confidential, { grant_type: 'authorization_code', code: 'nbocd_notarealcode', redirect_uri: REDIRECT_URI });
      assert.equal(garbled.json().error, 'invalid_grant');
      const missing = await tokenRequest(app, confidential, { grant_type: 'authorization_code', redirect_uri: REDIRECT_URI });
      assert.equal(missing.json().error, 'invalid_request');
      const repeated = await app.request({
        method: 'POST',
        url: '/api/oauth/token',
        token: null,
        payload: 'grant_type=authorization_code&grant_type=password',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${confidential.client_id}:${confidential.client_secret}`).toString('base64')}` },
      });
      assert.equal(repeated.statusCode, 400);
      assert.equal(repeated.json().error, 'invalid_request');
      const xml = await app.request({ method: 'POST', url: '/api/oauth/token', token: null, payload: '<x/>', headers: { 'content-type': 'text/xml' } });
      assert.equal(xml.statusCode, 415);
      assert.equal(xml.json().error, 'invalid_request');
    });
  });
}
