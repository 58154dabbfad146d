import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { generateToken } from '../../../src/core/tokens/token-format.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';

for (const database of testDatabases) {
  describe(`authentication [${database.name}]`, () => {
    let app: TestApp;
    let admin: { userId: string; organizationId: string };

    before(async () => {
      app = await startTestApp(database);
      const status = (await app.request({ method: 'GET', url: '/api/status/' })).json();
      admin = { userId: status.user.id, organizationId: status.organization.id };
    });
    after(() => app.close());

    const status = (headers: Record<string, string>) => app.request({ method: 'GET', url: '/api/status/', token: null, headers });
    const newToken = (overrides: { expiresAt?: string | null } = {}) =>
      app.nimbus.services.tokens.create({ ...admin, kind: 'personal', name: 'test', scopes: ['*'], expiresAt: overrides.expiresAt ?? null });

    it('resolves every carrier to the same principal', async () => {
      const key = app.token;
      const carriers: Record<string, string>[] = [
        { authorization: `token="${key}"` },
        { authorization: `Token="${key}"` },
        { authorization: `token=${key}` },
        { authorization: `Token ${key}` },
        { authorization: `Bearer ${key}` },
        { authorization: `Basic ${Buffer.from(`:${key}`).toString('base64')}` },
        { 'x-auth-token': key },
        { 'mc-api-key': key },
      ];
      for (const headers of carriers) {
        const res = await status(headers);
        assert.equal(res.statusCode, 200, JSON.stringify(headers));
        assert.deepEqual(res.json().user, { id: admin.userId, username: 'admin' });
        assert.equal(res.json().organization.id, admin.organizationId);
      }
    });

    it('answers a request without credentials with 401 and WWW-Authenticate', async () => {
      const res = await status({});
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['www-authenticate'], 'Token realm="api", Bearer realm="api"');
      assert.deepEqual(res.json(), { detail: 'Authentication credentials were not provided.', code: 'not_authenticated', request_id: res.headers['x-request-id'] });
      for (const method of ['POST', 'PATCH', 'DELETE'] as const) {
        const write = await app.request({ method, url: `/api/iam/organizations/${method === 'POST' ? '' : `${admin.organizationId}/`}`, token: null, payload: { name: 'x' } });
        assert.equal(write.statusCode, 401, method);
      }
    });

    it('refuses malformed, mistyped, unknown, revoked and expired tokens with 401', async () => {
      const typo = app.token.slice(0, -1) + (app.token.endsWith('a') ? 'b' : 'a');
      const revoked = await newToken();
      await app.nimbus.services.tokens.revoke(revoked.row.id);
      const expired = await newToken({ expiresAt: new Date(Date.now() - 1000).toISOString() });
      const cases: [Record<string, string>, string, string][] = [
        [{ authorization: 'Weird scheme' }, 'authentication_failed', 'Invalid authorization header. Use: Authorization: token="<key>".'],
        [{ authorization: 'Basic !!!' }, 'authentication_failed', 'Invalid authorization header. Use: Authorization: token="<key>".'],
        [{ authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }, 'authentication_failed', 'Invalid basic header. Credentials not correctly base64 encoded.'],
        [{ authorization: 'token="not-a-token"' }, 'authentication_failed', 'Invalid token.'],
        [{ authorization: `token="${typo}"` }, 'authentication_failed', 'Invalid token.'],
        [{ authorization: `Bearer ${generateToken('personal')}` }, 'authentication_failed', 'Invalid token.'],
        [{ 'x-auth-token': revoked.secret }, 'token_revoked', 'Token has been revoked.'],
        [{ 'mc-api-key': expired.secret }, 'token_expired', 'Token has expired.'],
      ];
      for (const [headers, code, detail] of cases) {
        const res = await status(headers);
        assert.equal(res.statusCode, 401, JSON.stringify(headers));
        assert.equal(res.headers['www-authenticate'], 'Token realm="api", Bearer realm="api"');
        assert.equal(res.json().code, code, JSON.stringify(headers));
        assert.equal(res.json().detail, detail);
      }
    });

    it('stops accepting a token as soon as it is revoked, even one just used', async () => {
      const token = await newToken();
      assert.equal((await status({ authorization: `Bearer ${token.secret}` })).statusCode, 200);
      await app.nimbus.services.tokens.revoke(token.row.id);
      assert.equal((await status({ authorization: `Bearer ${token.secret}` })).statusCode, 401);
    });

    it('refuses the token of a deactivated user', async () => {
      const { db } = app.nimbus.store;
      const now = new Date().toISOString();
      const userId = crypto.randomUUID();
      await db.insertInto('users').values({ id: userId, organization_id: admin.organizationId, username: 'inactive', email: '', first_name: '', last_name: '', password_hash: null, is_active: 0, is_staff: 0, is_superuser: 0, created_at: now, updated_at: now, last_login: null }).execute();
      const { secret } = await app.nimbus.services.tokens.create({ userId, organizationId: admin.organizationId, kind: 'personal', name: 'x', scopes: ['*'], expiresAt: null });
      const res = await status({ authorization: `Bearer ${secret}` });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().detail, 'User inactive or deleted.');
    });

    it('records when a token was last used', async () => {
      const token = await newToken();
      await status({ authorization: `Bearer ${token.secret}` });
      const row = await app.nimbus.store.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', token.row.id).executeTakeFirstOrThrow();
      assert.ok(row.last_used_at && Date.now() - Date.parse(row.last_used_at) < 60_000);
    });

    it('never stores nor logs a token secret: only its SHA-256 reaches the database', async () => {
      const token = await newToken();
      await status({ authorization: `token="${token.secret}"` });
      await status({ 'x-auth-token': token.secret.slice(0, -1) + 'x' });
      await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: '{"name": oops', headers: { 'content-type': 'application/json' } });
      const logs = app.logs();
      assert.ok(logs.length > 0);
      for (const secret of [app.token, token.secret]) {
        assert.ok(!logs.includes(secret), 'a secret reached the logs');
        assert.ok(!logs.includes(secret.slice(6, 30)), 'part of a secret reached the logs');
      }
      const row = await app.nimbus.store.db.selectFrom('api_tokens').selectAll().where('id', '=', token.row.id).executeTakeFirstOrThrow();
      assert.equal(row.token_hash, createHash('sha256').update(token.secret).digest('hex'));
      const { db } = app.nimbus.store;
      for (const table of ['api_tokens', 'users', 'organizations'] as const) {
        const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(db);
        const text = JSON.stringify(rows.rows);
        for (const secret of [app.token, token.secret]) assert.ok(!text.includes(secret.slice(6, 36)), `a secret is stored in ${table}`);
      }
      assert.equal(row.display_prefix, token.secret.slice(0, 10));
      assert.equal(row.last_four, token.secret.slice(-4));
    });
  });
}
