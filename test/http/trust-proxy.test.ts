import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app.ts';
import { testDatabases } from '../support/databases.ts';
import { authorizeQuery, pkcePair, REDIRECT_URI, registerApplication } from '../support/oauth.ts';

const FORWARDED = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' };

/** Logs in as admin from `remoteAddress` with the proxy headers, and returns the address the audit log recorded. */
async function loginAddress(app: TestApp, remoteAddress: string): Promise<string> {
  const login = await app.request({ method: 'POST', url: '/api/auth/login/', token: null, remoteAddress, headers: FORWARDED, payload: { username: 'admin', password: ADMIN_PASSWORD } });
  assert.equal(login.statusCode, 200, login.body);
  const audit = await app.request({ method: 'GET', url: '/api/audit/activity/?cursor=' });
  return audit.json().results.find((e: { action: string }) => e.action === 'login').client_address;
}

for (const database of testDatabases) {
  describe(`X-Forwarded-* headers [${database.name}]`, () => {
    let direct: TestApp;
    let proxied: TestApp;
    before(async () => {
      direct = await startTestApp(database);
      proxied = await startTestApp(database, { trustProxy: ['127.0.0.1'] });
    });
    after(async () => {
      await direct.close();
      await proxied.close();
    });

    it('are ignored by default: the client is the socket, links use the Host header', async () => {
      assert.equal(await loginAddress(direct, '127.0.0.1'), '127.0.0.1');
      const created = await direct.request({ method: 'POST', url: '/api/iam/organizations/', headers: { ...FORWARDED, host: 'nimbus.local:8080' }, payload: { name: 'Direct' } });
      assert.equal(created.statusCode, 201, created.body);
      assert.match(String(created.headers.location), /^http:\/\/nimbus\.local:8080\/api\/iam\/organizations\//);
    });

    it('from a trusted proxy, give the client address, scheme and host', async () => {
      assert.equal(await loginAddress(proxied, '127.0.0.1'), '203.0.113.7');
      const created = await proxied.request({ method: 'POST', url: '/api/iam/organizations/', headers: FORWARDED, payload: { name: 'Proxied' } });
      assert.equal(created.statusCode, 201, created.body);
      assert.match(String(created.headers.location), /^https:\/\/api\.example\.com\/api\/iam\/organizations\//);
    });

    it('from anyone else, are not believed', async () => {
      assert.equal(await loginAddress(proxied, '198.51.100.20'), '198.51.100.20');
    });

    it('make session cookies Secure whenever the public URL is https, and only then', async () => {
      const client = await registerApplication(direct);
      const proxiedClient = await registerApplication(proxied);
      const cookieFrom = async (app: TestApp, clientId: string, remoteAddress: string, headers: Record<string, string>) => {
        const query = authorizeQuery({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, scope: 'dns_read', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
        const page = await app.request({ method: 'GET', url: `/api/oauth/authorize?${query}`, token: null, remoteAddress, headers });
        assert.equal(page.statusCode, 200, page.body);
        return String(page.headers['set-cookie']);
      };
      for (const proto of ['https', 'HTTPS']) {
        assert.match(await cookieFrom(proxied, proxiedClient.client_id, '127.0.0.1', { 'x-forwarded-proto': proto }), /; Secure/, proto);
      }
      assert.doesNotMatch(await cookieFrom(proxied, proxiedClient.client_id, '127.0.0.1', {}), /Secure/, 'plain http');
      assert.doesNotMatch(await cookieFrom(proxied, proxiedClient.client_id, '198.51.100.20', { 'x-forwarded-proto': 'https' }), /Secure/, 'an untrusted sender');
      assert.doesNotMatch(await cookieFrom(direct, client.client_id, '127.0.0.1', { 'x-forwarded-proto': 'https' }), /Secure/, 'no trusted proxy');
    });

    it('cannot smuggle a malformed host into links', async () => {
      const res = await proxied.request({ method: 'GET', url: '/api/iam/organizations/', headers: { 'x-forwarded-host': 'evil.example/"><script>' } });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'invalid_host');
    });
  });
}
