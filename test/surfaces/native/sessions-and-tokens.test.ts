import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createSecretBox } from '../../../src/core/secrets/secret-box.ts';
import { startTestApp, TEST_SECRET_KEY, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addToken, addUser, basic, bearer, GOOD_PASSWORD, login } from '../../support/identity.ts';

for (const database of testDatabases) {
  describe(`sessions, tokens, bearers and credentials [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    const whoami = (headers: Record<string, string>) => app.request({ method: 'GET', url: '/api/auth/whoami/', token: null, headers });

    it('tells a CLI to use password login', async () => {
      const res = await app.request({ method: 'GET', url: '/api/auth/env/?client=cli', token: null });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json().auth0, { method: 'none' });
      assert.deepEqual(res.json().login.methods, ['password']);
    });

    it('logs in, answers whoami the way Alpacon clients read it, and logs out', async () => {
      const res = await app.request({ method: 'POST', url: '/api/auth/login/', token: null, payload: { workspace_url: 'http://x', username: 'admin', password: app.adminPassword } });
      assert.equal(res.statusCode, 200, res.body);
      const { token, expires_at } = res.json();
      assert.match(token, /^nbses_/);
      assert.ok(Date.parse(expires_at) > Date.now() + 23 * 3600_000);
      const me = await app.request({ method: 'GET', url: '/api/auth/whoami/', token });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().username, 'admin');
      assert.equal(me.json().is_staff, true);
      assert.equal(me.json().is_superuser, true);
      const self = await app.request({ method: 'GET', url: '/api/iam/users/-/', token });
      assert.equal(self.json().username, 'admin');
      assert.equal((await app.request({ method: 'POST', url: '/api/auth/logout/', token })).statusCode, 204);
      const after = await app.request({ method: 'GET', url: '/api/auth/whoami/', token });
      assert.equal(after.statusCode, 401);
      assert.equal(after.json().code, 'token_revoked');
      assert.ok(!app.logs().includes(app.adminPassword) && !app.logs().includes(token), 'neither the password nor the session token is logged');
    });

    it('answers a wrong password and an unknown user identically', async () => {
      await addUser(app, 'carol');
      const wrong = await app.request({ method: 'POST', url: '/api/auth/login/', token: null, payload: { username: 'carol', password: 'not-her-password' } });
      const unknown = await app.request({ method: 'POST', url: '/api/auth/login/', token: null, payload: { username: 'nobody-here', password: 'not-her-password' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal(unknown.statusCode, 401);
      const strip = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });
      assert.deepEqual(strip(wrong.json()), strip(unknown.json()));
      const missing = await app.request({ method: 'POST', url: '/api/auth/login/', token: null, payload: { username: 'carol' } });
      assert.deepEqual(missing.json(), { password: ['This field is required.'] });
    });

    it("creates a token whose key is shown once and is neither stored nor logged", async () => {
      const created = await app.request({ method: 'POST', url: '/api/auth/tokens/', payload: { name: 'ci', scopes: ['server:read', 'server:write'] } });
      assert.equal(created.statusCode, 201, created.body);
      const { id, key } = created.json();
      assert.match(key, /^nbpat_[0-9A-Za-z]{36}$/);
      const listed = await app.request({ method: 'GET', url: '/api/auth/tokens/' });
      const entry = listed.json().results.find((t: { id: string }) => t.id === id);
      assert.equal(entry.key, undefined);
      assert.equal(entry.last_characters, key.slice(-4));
      assert.ok(key.startsWith(entry.prefix));
      assert.ok(!JSON.stringify(listed.json()).includes(key));
      const fetched = await app.request({ method: 'GET', url: `/api/auth/tokens/${id}/` });
      assert.ok(!fetched.body.includes(key));

      // Use it, so the authentication path has run too, then search every table and the logs.
      assert.equal((await whoami({ authorization: `token="${key}"` })).statusCode, 200);
      const used = (await app.request({ method: 'GET', url: `/api/auth/tokens/${id}/` })).json().last_used_at;
      assert.ok(used, 'last_used_at is set on first use');
      await new Promise((resolve) => setTimeout(resolve, 2100));
      assert.equal((await whoami({ authorization: `token="${key}"` })).statusCode, 200);
      assert.equal((await app.request({ method: 'GET', url: `/api/auth/tokens/${id}/` })).json().last_used_at, used, 'and not rewritten within the minute');
      const { db } = app.nimbus.store;
      const randomPart = key.slice(6, 36);
      for (const table of ['api_tokens', 'audit_events', 'users', 'rate_limit_counters'] as const) {
        const rows = await db.selectFrom(table).selectAll().execute();
        assert.ok(!JSON.stringify(rows).includes(randomPart), `${table} holds the secret`);
      }
      assert.ok(!app.logs().includes(randomPart), 'the logs hold the secret');
    });

    it('refuses malformed, unknown, revoked and expired tokens', async () => {
      const { id, key } = await addToken(app, app.token, ['*']);
      assert.equal((await whoami({ authorization: `token="${key}"` })).statusCode, 200);
      const typo = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
      for (const bad of ['nbpat_short', typo, 'garbage', `nbpat_${'A'.repeat(36)}`]) {
        const res = await whoami({ authorization: `token="${bad}"` });
        assert.equal(res.statusCode, 401, bad);
        assert.ok(res.headers['www-authenticate']);
      }
      assert.equal((await whoami({ authorization: 'Weird scheme' })).statusCode, 401);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/auth/tokens/${id}/` })).statusCode, 204);
      const revoked = await whoami({ authorization: `token="${key}"` });
      assert.equal(revoked.statusCode, 401);
      assert.equal(revoked.json().code, 'token_revoked');

      const expiring = await addToken(app, app.token, ['*'], { expires_at: new Date(Date.now() + 1500).toISOString() });
      assert.equal((await whoami({ authorization: `token="${expiring.key}"` })).statusCode, 200);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const expired = await whoami({ authorization: `token="${expiring.key}"` });
      assert.equal(expired.statusCode, 401);
      assert.equal(expired.json().code, 'token_expired');
      const past = await app.request({ method: 'POST', url: '/api/auth/tokens/', payload: { name: 'x', expires_at: '2000-01-01T00:00:00Z' } });
      assert.deepEqual(past.json(), { expires_at: ['The expiry must be in the future.'] });
      // RFC 3339 allows a leap second; no date here can hold one, so it is bad input, not a server error.
      for (const expiresAt of ['2030-06-30T23:59:60Z', '2030-12-31T23:59:60.5+00:00']) {
        const leap = await app.request({ method: 'POST', url: '/api/auth/tokens/', payload: { name: 'leap', expires_at: expiresAt } });
        assert.equal(leap.statusCode, 400, leap.body);
        assert.ok(leap.json().expires_at, leap.body);
      }
      const badScope = await app.request({ method: 'POST', url: '/api/auth/tokens/', payload: { name: 'x', scopes: ['server:fly'] } });
      assert.equal(badScope.statusCode, 400);
      assert.ok(badScope.json().scopes);
    });

    it('lists scopes in Alpacon\'s shape', async () => {
      const res = await app.request({ method: 'GET', url: '/api/auth/tokens/scopes/' });
      assert.equal(res.statusCode, 200);
      const server = res.json().resources.find((r: { name: string }) => r.name === 'server');
      assert.deepEqual(server, { name: 'server', actions: ['read', 'write', 'register', 'list', 'retrieve', 'create', 'update', 'delete', 'execute'], acl: ['server'] });
      assert.deepEqual(res.json().resources.find((r: { name: string }) => r.name === 'websh').actions, res.json().resources.find((r: { name: string }) => r.name === 'command').actions);
      assert.ok(res.json().wildcards.includes('*'));
    });

    it('does not let a narrow token mint a wider one', async () => {
      const narrow = await addToken(app, app.token, ['token:write', 'server:read']);
      const wider = await app.request({ method: 'POST', url: '/api/auth/tokens/', token: narrow.key, payload: { name: 'w', scopes: ['*'] } });
      assert.equal(wider.statusCode, 403);
      assert.equal(wider.json().code, 'api_token_acl_not_allowed');
      const same = await app.request({ method: 'POST', url: '/api/auth/tokens/', token: narrow.key, payload: { name: 'w', scopes: ['server:read'] } });
      assert.equal(same.statusCode, 201);
    });

    it('exchanges a token for a one-hour bearer (Basic with an empty user name) and refuses it once the parent is revoked', async () => {
      const parent = await addToken(app, app.token, ['*']);
      const res = await app.request({ method: 'POST', url: '/api/auth/tokens/exchange/', token: null, headers: basic('', parent.key) });
      assert.equal(res.statusCode, 200, res.body);
      const jwt: string = res.json().token;
      const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
      assert.ok(Math.abs(claims.exp - (Date.now() / 1000 + 3600)) < 10, 'exp is one hour ahead');
      assert.equal(claims.ptid, parent.id);
      assert.equal((await whoami(bearer(jwt))).json().credential.kind, 'bearer');
      // The token as a normal credential works too.
      const direct = await app.request({ method: 'POST', url: '/api/auth/tokens/exchange/', token: parent.key });
      assert.equal(direct.statusCode, 200);
      // A bearer cannot mint bearers.
      assert.equal((await app.request({ method: 'POST', url: '/api/auth/tokens/exchange/', token: null, headers: bearer(jwt) })).statusCode, 403);

      await app.request({ method: 'DELETE', url: `/api/auth/tokens/${parent.id}/` });
      const refused = await whoami(bearer(jwt));
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.json().code, 'token_revoked');
    });

    it('refuses forged, tampered, expired and malformed bearers', async () => {
      const parent = await addToken(app, app.token, ['*']);
      const jwt: string = (await app.request({ method: 'POST', url: '/api/auth/tokens/exchange/', token: parent.key })).json().token;
      const [header, payload, signature] = jwt.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${signature}`;
      const kid = JSON.parse(Buffer.from(header, 'base64url').toString()).kid;
      const key = await app.nimbus.store.db.selectFrom('signing_keys').select('secret').where('id', '=', kid).executeTakeFirstOrThrow();
      // Stored sealed with the secret key kept outside the database: only with it is it a key.
      const secret = createSecretBox(TEST_SECRET_KEY).open(key.secret, kid);
      const sign = (body: Record<string, unknown>, k: Uint8Array = secret, alg = 'HS256') => new SignJWT(body).setProtectedHeader({ alg, kid }).sign(k);
      const expired = await sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 5 });
      const forged = await sign(claims, new Uint8Array(32).fill(7));
      const noneAlg = `${Buffer.from(JSON.stringify({ alg: 'none', kid })).toString('base64url')}.${payload}.`;
      const unknownKid = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: '00000000-0000-4000-8000-000000000000' }).sign(secret);
      for (const [label, value] of Object.entries({ tampered, expired, forged, noneAlg, unknownKid, garbage: 'eyJhbGciOi.bad.sig' })) {
        const res = await whoami(bearer(value));
        assert.equal(res.statusCode, 401, label);
      }
      assert.equal((await whoami(bearer(expired))).json().code, 'token_expired');
    });

    it('authenticates API credentials with Basic, and a new pair invalidates the old one and its tokens', async () => {
      const dave = await addUser(app, 'dave');
      const first = (await app.request({ method: 'POST', url: '/api/auth/credentials/', token: dave.session, payload: {} })).json();
      assert.match(first.password, /^nbcrd_/);
      assert.equal((await whoami(basic(first.username, first.password))).json().username, 'dave');
      assert.equal((await whoami(basic(first.username, GOOD_PASSWORD))).statusCode, 401, 'the login password is not an API credential');
      // A token created while authenticated with the pair.
      const issued = await app.request({ method: 'POST', url: '/api/auth/tokens/', token: null, headers: basic(first.username, first.password), payload: { name: 'from-basic' } });
      assert.equal(issued.statusCode, 201, issued.body);
      assert.equal((await whoami({ authorization: `token="${issued.json().key}"` })).statusCode, 200);

      const second = (await app.request({ method: 'POST', url: '/api/auth/credentials/', token: dave.session, payload: {} })).json();
      assert.notEqual(second.username, first.username);
      assert.equal((await whoami(basic(first.username, first.password))).statusCode, 401);
      assert.equal((await whoami({ authorization: `token="${issued.json().key}"` })).statusCode, 401);
      assert.equal((await whoami(basic(second.username, second.password))).statusCode, 200);
      const listed = (await app.request({ method: 'GET', url: '/api/auth/credentials/', token: dave.session })).json();
      assert.ok(!JSON.stringify(listed).includes(second.password));
      assert.deepEqual(listed.results.map((c: { enabled: boolean }) => c.enabled).sort(), [false, true]);
    });

    it('records auth events with actor, organization, request id and address, paged by cursor', async () => {
      const erin = await addUser(app, 'erin');
      await app.request({ method: 'POST', url: '/api/auth/login/', token: null, payload: { username: 'erin', password: 'wrong-password-x' }, headers: { 'x-request-id': 'req-fail-1' } });
      await app.request({ method: 'POST', url: `/api/iam/users/${erin.id}/password/`, token: erin.session, payload: { old_password: GOOD_PASSWORD, password: 'lantern-orchard-77' } });
      const page = await app.request({ method: 'GET', url: '/api/audit/activity/?page_size=2' });
      assert.equal(page.statusCode, 200);
      assert.equal(page.json().results.length, 2);
      assert.ok(page.json().next);
      const all: { action: string; username: string; request_id: string; client_address: string; organization: string | null }[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const res = await app.request({ method: 'GET', url: `/api/audit/activity/?page_size=50&cursor=${cursor}` });
        all.push(...res.json().results);
        cursor = res.json().next;
      }
      const failed = all.find((e) => e.action === 'login_failed' && e.request_id === 'req-fail-1');
      assert.ok(failed);
      assert.equal(failed.username, 'erin');
      assert.equal(failed.client_address, '127.0.0.1');
      assert.ok(failed.organization);
      for (const action of ['login', 'token_created', 'token_revoked', 'token_exchanged', 'password_changed', 'role_changed', 'credential_created']) {
        assert.ok(all.some((e) => e.action === action), action);
      }
      const narrow = await addToken(app, app.token, ['server:read']);
      assert.equal((await app.request({ method: 'GET', url: '/api/audit/activity/', token: narrow.key })).statusCode, 403);
      assert.equal(await login(app, 'erin', 'lantern-orchard-77').then((t) => t.startsWith('nbses_')), true);
    });
  });
}
