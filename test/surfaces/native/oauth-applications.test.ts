import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { addUser } from '../../support/identity.ts';
import { testDatabases } from '../../support/databases.ts';
import { basicAuth, formPost, REDIRECT_URI, registerApplication } from '../../support/oauth.ts';

for (const database of testDatabases) {
  describe(`OAuth applications [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    const clientCredentials = (clientId: string, secret: string) => formPost(app, '/api/oauth/token', { grant_type: 'client_credentials' }, { authorization: basicAuth(clientId, secret) });

    it('registers a confidential application and shows its secret once, stored only as a hash', async () => {
      const created = await app.request({ method: 'POST', url: '/api/oauth/applications/', payload: { name: 'Billing sync', redirect_uris: [REDIRECT_URI], scopes: ['order_read', 'public'] } });
      assert.equal(created.statusCode, 201, created.body);
      const body = created.json();
      assert.equal(body.client_type, 'confidential');
      assert.match(body.client_secret, /^nbocs_[0-9A-Za-z]{36}$/);
      assert.match(body.client_id, /^[0-9a-z]{32}$/);
      assert.deepEqual(body.scopes, ['public', 'order_read']);
      assert.equal(created.headers.location, `http://localhost:80/api/oauth/applications/${body.id}/`);

      const fetched = await app.request({ method: 'GET', url: `/api/oauth/applications/${body.id}/` });
      assert.equal(fetched.statusCode, 200);
      assert.equal(fetched.json().client_secret, undefined);
      const listed = await app.request({ method: 'GET', url: '/api/oauth/applications/?search=billing' });
      assert.equal(listed.json().count, 1);
      assert.equal(listed.json().results[0].client_secret, undefined);
      const row = await app.nimbus.store.db.selectFrom('oauth_applications').selectAll().where('id', '=', body.id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(row).includes(body.client_secret));
      assert.doesNotMatch(app.logs(), new RegExp(body.client_secret));
      assert.equal((await clientCredentials(body.client_id, body.client_secret)).statusCode, 200);
    });

    it('a public application has no secret', async () => {
      const created = await registerApplication(app, { client_type: 'public', redirect_uris: ['http://[::1]/cb', 'org.example.app:/oauth'] });
      assert.equal(created.client_secret, null);
      const rotate = await app.request({ method: 'POST', url: `/api/oauth/applications/${created.id}/rotate_secret/` });
      assert.equal(rotate.statusCode, 400);
      assert.deepEqual(rotate.json(), { non_field_errors: ['A public client has no secret.'] });
    });

    it('validates every field in DRF shape and creates nothing', async () => {
      const before = (await app.request({ method: 'GET', url: '/api/oauth/applications/' })).json().count;
      const bad = await app.request({
        method: 'POST',
        url: '/api/oauth/applications/',
        payload: {
          name: ' ',
          client_type: 'trusted',
          redirect_uris: ['http://client.example/cb', 'https://client.example/cb#frag', 'javascript:alert(1)', '/relative', 'myapp:/cb'],
          scopes: ['public', 'admin'],
        },
      });
      assert.equal(bad.statusCode, 400);
      const errors = bad.json();
      assert.deepEqual(Object.keys(errors).sort(), ['client_type', 'name', 'redirect_uris', 'scopes']);
      assert.equal(errors.redirect_uris.length, 5);
      assert.match(errors.redirect_uris[0], /must use https/);
      assert.match(errors.redirect_uris[1], /fragment/);
      assert.match(errors.scopes[0], /"admin" is not a valid scope/);
      const missing = await app.request({ method: 'POST', url: '/api/oauth/applications/', payload: { name: 'x' } });
      assert.deepEqual(missing.json(), { redirect_uris: ['This field is required.'], scopes: ['This field is required.'] });
      const empty = await app.request({ method: 'POST', url: '/api/oauth/applications/', payload: { name: 'x', redirect_uris: [], scopes: [] } });
      assert.deepEqual(Object.keys(empty.json()).sort(), ['redirect_uris', 'scopes']);
      assert.equal((await app.request({ method: 'GET', url: '/api/oauth/applications/' })).json().count, before);
    });

    it('updates redirect URIs and scopes with ETags, but not the client type', async () => {
      const created = await registerApplication(app);
      const fetched = await app.request({ method: 'GET', url: `/api/oauth/applications/${created.id}/` });
      const patched = await app.request({
        method: 'PATCH',
        url: `/api/oauth/applications/${created.id}/`,
        payload: { scopes: ['public'], redirect_uris: ['https://new.example/cb'] },
        headers: { 'if-match': String(fetched.headers.etag) },
      });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual(patched.json().scopes, ['public']);
      const stale = await app.request({ method: 'PATCH', url: `/api/oauth/applications/${created.id}/`, payload: { name: 'Renamed' }, headers: { 'if-match': String(fetched.headers.etag) } });
      assert.equal(stale.statusCode, 412);
      const retype = await app.request({ method: 'PATCH', url: `/api/oauth/applications/${created.id}/`, payload: { client_type: 'public' } });
      assert.equal(retype.statusCode, 400);
      assert.ok(retype.json().client_type);
      // The narrowed scopes apply to new requests at once.
      const page = await app.request({ method: 'GET', url: `/api/oauth/authorize?response_type=code&client_id=${created.client_id}&redirect_uri=https%3A%2F%2Fnew.example%2Fcb&scope=dns_read`, token: null });
      assert.equal(new URL(String(page.headers.location)).searchParams.get('error'), 'invalid_scope');
    });

    it('rotating the secret retires the old one; deleting the application kills its tokens', async () => {
      const created = await registerApplication(app);
      const token = (await clientCredentials(created.client_id, created.client_secret!)).json().access_token;
      const rotated = await app.request({ method: 'POST', url: `/api/oauth/applications/${created.id}/rotate_secret/` });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const newSecret = rotated.json().client_secret;
      assert.notEqual(newSecret, created.client_secret);
      assert.equal((await clientCredentials(created.client_id, created.client_secret!)).statusCode, 401);
      assert.equal((await clientCredentials(created.client_id, newSecret)).statusCode, 200);

      assert.equal((await app.request({ method: 'DELETE', url: `/api/oauth/applications/${created.id}/` })).statusCode, 204);
      assert.equal((await app.request({ method: 'GET', url: '/api/status/', token: null, headers: { authorization: `Bearer ${token}` } })).statusCode, 401);
      assert.equal((await app.request({ method: 'GET', url: `/api/oauth/applications/${created.id}/` })).statusCode, 404);
    });

    it('needs oauth_application:read and :write, and hides other organizations\' applications', async () => {
      const admin = (await app.request({ method: 'GET', url: '/api/status/' })).json();
      const { secret: readOnly } = await app.nimbus.services.tokens.create({ userId: admin.user.id, organizationId: admin.organization.id, kind: 'personal', name: 'ro', scopes: ['oauth_application:read'], expiresAt: null });
      assert.equal((await app.request({ method: 'GET', url: '/api/oauth/applications/', token: readOnly })).statusCode, 200);
      const refused = await app.request({ method: 'POST', url: '/api/oauth/applications/', token: readOnly, payload: { name: 'x', redirect_uris: [REDIRECT_URI], scopes: ['public'] } });
      assert.equal(refused.statusCode, 403);

      // A user of a sub-organization sees only that subtree's applications.
      const sub = (await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: { name: 'Tenant' } })).json();
      const tenantToken = (await addUser(app, 'tenant-user', { role: 'admin', organization: sub.id })).session;
      const rootApp = await registerApplication(app, { name: 'Root app' });
      const tenantApp = (await app.request({ method: 'POST', url: '/api/oauth/applications/', token: tenantToken, payload: { name: 'Tenant app', redirect_uris: [REDIRECT_URI], scopes: ['public'] } })).json();
      const tenantList = (await app.request({ method: 'GET', url: '/api/oauth/applications/', token: tenantToken })).json();
      assert.deepEqual(tenantList.results.map((a: { id: string }) => a.id), [tenantApp.id]);
      assert.equal(tenantApp.organization, sub.id);
      assert.equal((await app.request({ method: 'GET', url: `/api/oauth/applications/${rootApp.id}/`, token: tenantToken })).statusCode, 404);
      assert.equal((await app.request({ method: 'GET', url: `/api/oauth/applications/${tenantApp.id}/` })).statusCode, 200);
    });
  });
}
