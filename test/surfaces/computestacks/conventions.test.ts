import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, type TestUser } from '../../support/identity.ts';
import { REDIRECT_URI, type RegisteredApplication } from '../../support/oauth.ts';
import { allowPasswordGrant, apiCredentials, computestacks, COMPUTESTACKS, errorsOf, oauthClient, oauthToken, passwordGrantToken } from './support.ts';

for (const database of testDatabases) {
  describe(`ComputeStacks conventions: credentials, scopes, versions, errors [${database.name}]`, () => {
    let app: TestApp;
    let carol: TestUser;
    let pair: { username: string; password: string };
    let client: RegisteredApplication;

    before(async () => {
      app = await startTestApp(database, { surfacePorts: { computestacks: 0 } });
      // Carol's organization and Dave's (below) are siblings: neither sees the other's.
      carol = await addUser(app, 'carol', { role: 'admin', organization: await addOrganization(app, 'Carol Co') });
      pair = await apiCredentials(app, carol);
      client = await oauthClient(app);
      await allowPasswordGrant(app, carol.session);
    });
    after(() => app.close());

    it('answers HTTP Basic with API credentials; a wrong pair, the login password or none is a 401 "Not Authorized"', async () => {
      const me = await computestacks(app, pair, 'GET', '/api/users');
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().user.username, 'carol');
      for (const credential of [{ ...pair, password: `${pair.password}x` }, { username: 'carol', password: 'violet-tugboat-41' }, { username: '', password: pair.password }, null]) {
        assert.deepEqual(errorsOf(await computestacks(app, credential, 'GET', '/api/users'), 401), ['Not Authorized']);
      }
    });

    it('answers an invalid OAuth token with a 403', async () => {
      errorsOf(await computestacks(app, 'nboat_not-a-real-token', 'GET', '/api/users'), 403);
    });

    it('invalidates the previous pair and every token issued with it when a new pair is generated', async () => {
      const first = await apiCredentials(app, carol);
      const token = await passwordGrantToken(app, client, first, 'profile_read');
      assert.equal((await computestacks(app, token, 'GET', '/api/users')).statusCode, 200);
      const second = await apiCredentials(app, carol);
      assert.deepEqual(errorsOf(await computestacks(app, first, 'GET', '/api/users'), 401), ['Not Authorized']);
      errorsOf(await computestacks(app, token, 'GET', '/api/users'), 403);
      assert.equal((await computestacks(app, second, 'GET', '/api/users')).statusCode, 200);
      pair = second;
    });

    it('serves the OAuth endpoints at /api/oauth/token and /api/oauth/authorize; the password grant takes API credentials only', async () => {
      const login = await oauthToken(app, client, { grant_type: 'password', username: 'carol', password: 'violet-tugboat-41', scope: 'profile_read' });
      assert.equal(login.statusCode, 400, login.body);
      assert.equal(login.json().error, 'invalid_grant');
      const page = await app.nimbus.http.inject({ method: 'GET', url: `${COMPUTESTACKS}/api/oauth/authorize?response_type=code&client_id=${client.client_id}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=dns_read&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256` });
      assert.equal(page.statusCode, 200, page.body);
      assert.match(String(page.headers['content-type']), /^text\/html/);
    });

    it('enforces the scopes per endpoint: without dns_read no zones, without profile_write no profile change', async () => {
      const profileOnly = await passwordGrantToken(app, client, pair, 'profile_read');
      assert.equal((await computestacks(app, profileOnly, 'GET', '/api/users')).statusCode, 200);
      errorsOf(await computestacks(app, profileOnly, 'GET', '/api/zones'), 403);
      errorsOf(await computestacks(app, profileOnly, 'PATCH', '/api/users', { user: { fname: 'Nope' } }), 403);
      assert.equal((await computestacks(app, pair, 'GET', '/api/users')).json().user.fname, '');
      const dns = await passwordGrantToken(app, client, pair, 'dns_read');
      assert.equal((await computestacks(app, dns, 'GET', '/api/zones')).statusCode, 200);
      errorsOf(await computestacks(app, dns, 'GET', '/api/users'), 403);
      // Any user's token reads the version (ComputeStacks' `public` for a signed-in user).
      assert.equal((await computestacks(app, dns, 'GET', '/api/version')).statusCode, 200);
    });

    it('gives client credentials the public scope only: the version, nobody’s data', async () => {
      const refused = await oauthToken(app, client, { grant_type: 'client_credentials', scope: 'public register' });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.json().error, 'invalid_scope');
      const granted = await oauthToken(app, client, { grant_type: 'client_credentials', scope: 'public' });
      assert.equal(granted.statusCode, 200, granted.body);
      const token = granted.json().access_token;
      assert.equal((await computestacks(app, token, 'GET', '/api/version')).statusCode, 200);
      for (const path of ['/api/users', '/api/zones']) errorsOf(await computestacks(app, token, 'GET', path), 403);
    });

    it('publishes its versions at /api/version and /version; a deprecated one is flagged, an unsupported one is a 422', async () => {
      for (const path of ['/api/version', '/version']) {
        const res = await computestacks(app, pair, 'GET', path);
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json();
        assert.equal(typeof body.version, 'string');
        assert.equal(body.api_latest_version, 80);
        assert.ok(body.api_available_versions.includes(60) && body.api_available_versions.includes(80));
        assert.equal(res.headers['api-deprecated'], undefined);
      }
      for (const accept of ['application/json; api_version=60', 'application/json; api_version=51;']) {
        const old = await computestacks(app, pair, 'GET', '/api/users', undefined, { accept });
        assert.equal(old.statusCode, 200, old.body);
        assert.equal(old.headers['api-deprecated'], 'true');
      }
      assert.equal((await computestacks(app, pair, 'GET', '/api/users', undefined, { accept: 'application/json; api_version=80' })).headers['api-deprecated'], undefined);
      for (const version of ['40', '99', 'x']) {
        const res = await computestacks(app, pair, 'GET', '/api/users', undefined, { accept: `application/json; api_version=${version}` });
        assert.deepEqual(errorsOf(res, 422), [`You requested an unsupported version (${version})`]);
        assert.equal(res.headers['api-version-supported'], 'false');
      }
    });

    it("answers unknown calls, wrong verbs and the framework's errors as {errors: [...]}", async () => {
      for (const [method, path] of [['GET', '/api/nowhere'], ['GET', '/api'], ['DELETE', '/api/version'], ['POST', '/api/users/1/2']] as const) {
        assert.deepEqual(errorsOf(await computestacks(app, pair, method, path), 404), ['Unknown API Call. Please check the documentation.'], `${method} ${path}`);
      }
      const broken = await app.nimbus.http.inject({ method: 'PATCH', url: `${COMPUTESTACKS}/api/users`, headers: { authorization: `Basic ${Buffer.from(`${pair.username}:${pair.password}`).toString('base64')}`, 'content-type': 'application/json' }, payload: '{"user": {' });
      errorsOf(broken, 400);
      errorsOf(await computestacks(app, pair, 'PATCH', '/api/users', 'x', { 'content-type': 'text/plain' }), 415);
      errorsOf(await app.nimbus.http.inject({ method: 'GET', url: `${COMPUTESTACKS}/api/zones/%zz` }), 400);
    });

    it('changes the profile with PATCH /api/users (200 {}), refuses what it does not keep with a 400, changing nothing', async () => {
      const changed = await computestacks(app, pair, 'PATCH', '/api/users', { user: { fname: 'Carol', lname: 'Danvers', email: 'carol@example.com' } });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual(changed.json(), {});
      const bad = await computestacks(app, pair, 'PATCH', '/api/users', { user: { fname: 'Caroline', phone: '555' } });
      assert.deepEqual(errorsOf(bad, 400), ['phone: is not kept by this server']);
      errorsOf(await computestacks(app, pair, 'PATCH', '/api/users', { user: { email: 'not-an-email' } }), 400);
      errorsOf(await computestacks(app, pair, 'PATCH', '/api/users', { fname: 'x' }), 400);
      const { user } = (await computestacks(app, pair, 'GET', '/api/users')).json();
      assert.deepEqual({ fname: user.fname, lname: user.lname, email: user.email }, { fname: 'Carol', lname: 'Danvers', email: 'carol@example.com' });
      assert.equal(typeof user.created_at, 'string');
    });

    it('pages lists with page/per_page, answering Per-Page and Total', async () => {
      for (const name of ['a.example', 'b.example', 'c.example']) {
        assert.equal((await app.request({ method: 'POST', url: '/api/dns/zones/', token: carol.session, payload: { name } })).statusCode, 201);
      }
      const first = await computestacks(app, pair, 'GET', '/api/zones?per_page=2');
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.headers['per-page'], '2');
      assert.equal(first.headers.total, '3');
      assert.deepEqual(first.json().zones.map((z: { name: string }) => z.name), ['a.example', 'b.example']);
      const second = await computestacks(app, pair, 'GET', '/api/zones?per_page=2&page=2');
      assert.deepEqual(second.json().zones.map((z: { name: string }) => z.name), ['c.example']);
      const all = await computestacks(app, pair, 'GET', '/api/zones');
      assert.equal(all.headers['per-page'], '30');
      errorsOf(await computestacks(app, pair, 'GET', '/api/zones?page=0'), 422);
      errorsOf(await computestacks(app, pair, 'GET', '/api/zones?per_page=abc'), 422);
    });

    it("shows a zone with its records grouped by type, SOA and NS included; another organization's zone is a 404", async () => {
      const zone = (await app.request({ method: 'POST', url: '/api/dns/zones/', token: carol.session, payload: { name: 'shown.example' } })).json();
      await app.request({ method: 'POST', url: `/api/dns/zones/${zone.id}/records/`, token: carol.session, payload: { name: 'www', type: 'A', ip: '192.0.2.10' } });
      const res = await computestacks(app, pair, 'GET', `/api/zones/${zone.id}`);
      assert.equal(res.statusCode, 200, res.body);
      const shown = res.json().zone;
      assert.deepEqual(Object.keys(shown), ['id', 'name', 'created_at', 'updated_at', 'records']);
      assert.deepEqual(Object.keys(shown.records), ['A', 'AAAA', 'CAA', 'CNAME', 'DS', 'HINFO', 'MX', 'NAPTR', 'NS', 'PTR', 'SRV', 'SOA', 'SSHFP', 'TLSA', 'TXT']);
      assert.equal(shown.records.A[0].ip, '192.0.2.10');
      assert.equal(shown.records.A[0].name, 'www.shown.example');
      assert.equal(shown.records.A[0].zone_id, 'shown.example');
      assert.equal(shown.records.SOA.length, 1);
      assert.equal(shown.records.SOA[0].email, zone.email);
      assert.ok(shown.records.NS.length >= 1);

      const other = await addOrganization(app, 'Elsewhere');
      const dave = await addUser(app, 'dave', { role: 'admin', organization: other });
      const theirs = (await app.request({ method: 'POST', url: '/api/dns/zones/', token: dave.session, payload: { name: 'theirs.example' } })).json();
      errorsOf(await computestacks(app, pair, 'GET', `/api/zones/${theirs.id}`), 404);
      const davePair = await apiCredentials(app, dave);
      errorsOf(await computestacks(app, davePair, 'GET', `/api/zones/${zone.id}`), 404);
      assert.deepEqual((await computestacks(app, davePair, 'GET', '/api/zones')).json().zones.map((z: { name: string }) => z.name), ['theirs.example']);
    });

    it('answers on its own port as at /compat/computestacks', async () => {
      const own = app.nimbus.listeners.own.find((o) => o.surface.name === 'computestacks')!;
      const port = (own.app.server.address() as AddressInfo).port;
      const auth = `Basic ${Buffer.from(`${pair.username}:${pair.password}`).toString('base64')}`;
      const res = await fetch(`http://127.0.0.1:${port}/api/users`, { headers: { authorization: auth } });
      assert.equal(res.status, 200);
      const unknown = await fetch(`http://127.0.0.1:${port}/nowhere`);
      assert.deepEqual(await unknown.json(), { errors: ['Unknown API Call. Please check the documentation.'] });
      assert.equal(unknown.status, 404);
    });
  });
}

describe('ComputeStacks: a body that does not arrive in time is a 408', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp(testDatabases[0]!, { surfacePorts: { computestacks: 0 }, computestacksBodyTimeoutSeconds: 1 });
  });
  after(() => app.close());

  it('answers 408 {errors} when the body stalls past the timeout', async () => {
    const own = app.nimbus.listeners.own.find((o) => o.surface.name === 'computestacks')!;
    const port = (own.app.server.address() as AddressInfo).port;
    const pair = await apiCredentials(app);
    const auth = Buffer.from(`${pair.username}:${pair.password}`).toString('base64');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`PATCH /api/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user":`);
      });
      let received = '';
      socket.on('data', (chunk) => (received += chunk));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
    });
    assert.match(answer, /^HTTP\/1.1 408 /);
    assert.match(answer, /\{"errors":\["The request body did not arrive in time\."\]\}/);
  });
});
