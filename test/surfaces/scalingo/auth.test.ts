import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { hashToken } from '../../../src/core/tokens/token-format.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { exchange, invalid, ISO_WITH_MS, notFound, plainError, scalingo, scalingoToken } from './support.ts';

for (const database of testDatabases) {
  describe(`Scalingo authentication API [${database.name}]`, () => {
    let app: TestApp;

    before(async () => {
      app = await startTestApp(database);
      const acme = await addOrganization(app, 'Acme');
      const globex = await addOrganization(app, 'Globex');
      await addUser(app, 'alice', { role: 'admin', organization: acme });
      await addUser(app, 'bob', { role: 'admin', organization: globex });
    });
    after(() => app.close());

    it('makes a tk-us- token from a username and password, with either body form, kept hashed', async () => {
      for (const body of [{ token: { name: 'Test Token' } }, { name: 'Test Token' }]) {
        const res = await scalingo(app, { username: 'alice', password: GOOD_PASSWORD }, 'POST', '/v1/tokens', body);
        assert.equal(res.statusCode, 201, res.body);
        const { token } = res.json();
        assert.deepEqual(Object.keys(token).sort(), ['created_at', 'id', 'issued_at', 'last_used_at', 'name', 'token']);
        assert.equal(token.name, 'Test Token');
        assert.equal(token.last_used_at, null);
        assert.match(token.created_at, ISO_WITH_MS);
        assert.match(token.issued_at, ISO_WITH_MS);
        assert.match(token.token, /^tk-us-[0-9A-Za-z]{36}$/);
        const row = await app.nimbus.store.db.selectFrom('api_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow();
        assert.equal(row.token_hash, hashToken(token.token));
        assert.ok(!JSON.stringify(row).includes(token.token.slice(6)), 'the secret is not stored');
      }
      assert.ok(!app.logs().includes('tk-us-'), 'no token is logged');
    });

    it('refuses a wrong password, a blank name and a missing body in its shapes, and makes nothing', async () => {
      const before = await app.nimbus.store.db.selectFrom('api_tokens').select('id').execute();
      plainError(await scalingo(app, { username: 'alice', password: 'wrong' }, 'POST', '/v1/tokens', { token: { name: 'x' } }), 401);
      plainError(await scalingo(app, { username: 'nobody', password: 'wrong' }, 'POST', '/v1/tokens', { token: { name: 'x' } }), 401);
      plainError(await scalingo(app, null, 'POST', '/v1/tokens', { token: { name: 'x' } }), 401);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, { username: 'alice', password: GOOD_PASSWORD }, 'POST', '/v1/tokens', { token: { name: ' ' } }))), ['name']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, { username: 'alice', password: GOOD_PASSWORD }, 'POST', '/v1/tokens'))), ['name']);
      const malformed = await app.nimbus.http.inject({ method: 'POST', url: '/compat/scalingo/v1/tokens', headers: { authorization: 'Basic !!!' } });
      plainError(malformed, 401);
      assert.deepEqual(await app.nimbus.store.db.selectFrom('api_tokens').select('id').execute(), before);
    });

    it('exchanges a token (Basic, empty user name) for a JWT that expires in one hour and works as a Bearer', async () => {
      const token = await scalingoToken(app, 'alice', GOOD_PASSWORD);
      const jwt = await exchange(app, token);
      const { exp } = decodeJwt(jwt);
      assert.ok(Math.abs(exp! - (Date.now() / 1000 + 3600)) < 60, `exp ${exp}`);
      const self = await scalingo(app, jwt, 'GET', '/v1/users/self');
      assert.equal(self.statusCode, 200, self.body);
      const { user } = self.json();
      assert.equal(user.username, 'alice');
      assert.match(user.id, /^[0-9a-f-]{36}$/);
      assert.match(user.created_at, ISO_WITH_MS);
      assert.deepEqual(Object.keys(user).sort(), ['created_at', 'email', 'fullname', 'id', 'username', 'uuid']);
      // The token itself is a credential too, as a Bearer or as Basic's password.
      assert.equal((await scalingo(app, token, 'GET', '/v1/users/self')).json().user.username, 'alice');
      assert.equal((await scalingo(app, { username: '', password: token }, 'GET', '/v1/users/self')).json().user.username, 'alice');
      plainError(await scalingo(app, { username: '', password: 'tk-us-not-a-token' }, 'POST', '/v1/tokens/exchange'), 401);
      plainError(await scalingo(app, null, 'POST', '/v1/tokens/exchange'), 401);
      plainError(await scalingo(app, `${jwt.slice(0, -2)}xx`, 'GET', '/v1/users/self'), 401);
    });

    it('makes tokens with a credential as the JS client does, lists the live ones without secrets, renews and deletes them', async () => {
      const token = await scalingoToken(app, 'alice', GOOD_PASSWORD, 'first');
      const jwt = await exchange(app, token);
      const made = await scalingo(app, jwt, 'POST', '/v1/tokens', { name: 'second' });
      assert.equal(made.statusCode, 201, made.body);
      const second = made.json().token;
      assert.match(second.token, /^tk-us-/);

      const listed = (await scalingo(app, jwt, 'GET', '/v1/tokens')).json().tokens;
      assert.ok(listed.some((t: { id: string }) => t.id === second.id));
      assert.ok(listed.every((t: Record<string, unknown>) => !('token' in t)));

      const renewed = await scalingo(app, jwt, 'PATCH', `/v1/tokens/${second.id}/renew`);
      assert.equal(renewed.statusCode, 200, renewed.body);
      const fresh = renewed.json().token;
      assert.equal(fresh.name, 'second');
      assert.notEqual(fresh.token, second.token);
      assert.match(fresh.token, /^tk-us-/);
      plainError(await scalingo(app, second.token, 'GET', '/v1/users/self'), 401);
      assert.equal((await scalingo(app, fresh.token, 'GET', '/v1/users/self')).statusCode, 200);
      notFound(await scalingo(app, jwt, 'PATCH', `/v1/tokens/${second.id}/renew`), 'token');

      assert.equal((await scalingo(app, jwt, 'DELETE', `/v1/tokens/${fresh.id}`)).statusCode, 204);
      plainError(await scalingo(app, fresh.token, 'GET', '/v1/users/self'), 401);
      const after = (await scalingo(app, jwt, 'GET', '/v1/tokens')).json().tokens.map((t: { id: string }) => t.id);
      assert.ok(!after.includes(fresh.id) && !after.includes(second.id));
    });

    it('deleting the token behind a bearer ends the bearer', async () => {
      const token = await scalingoToken(app, 'alice', GOOD_PASSWORD, 'short-lived');
      const jwt = await exchange(app, token);
      const id = (await scalingo(app, jwt, 'GET', '/v1/tokens')).json().tokens.find((t: { name: string }) => t.name === 'short-lived').id;
      assert.equal((await scalingo(app, jwt, 'DELETE', `/v1/tokens/${id}`)).statusCode, 204);
      plainError(await scalingo(app, jwt, 'GET', '/v1/users/self'), 401);
    });

    it("never shows, renews or deletes another user's token", async () => {
      const alices = await scalingoToken(app, 'alice', GOOD_PASSWORD, 'alice-only');
      const aliceId = (await scalingo(app, alices, 'GET', '/v1/tokens')).json().tokens.find((t: { name: string }) => t.name === 'alice-only').id;
      const bobs = await exchange(app, await scalingoToken(app, 'bob', GOOD_PASSWORD));
      assert.ok(!(await scalingo(app, bobs, 'GET', '/v1/tokens')).json().tokens.some((t: { id: string }) => t.id === aliceId));
      notFound(await scalingo(app, bobs, 'PATCH', `/v1/tokens/${aliceId}/renew`), 'token');
      notFound(await scalingo(app, bobs, 'DELETE', `/v1/tokens/${aliceId}`), 'token');
      notFound(await scalingo(app, bobs, 'DELETE', '/v1/tokens/not-a-uuid'), 'token');
      assert.equal((await scalingo(app, alices, 'GET', '/v1/users/self')).statusCode, 200);
    });

    it('names its one region, whose API and dashboard are this surface, without a credential', async () => {
      const res = await scalingo(app, null, 'GET', '/v1/regions');
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), {
        regions: [{ name: 'nimbus', display_name: 'nimbus', api: 'http://localhost:80/compat/scalingo', database_api: null, dashboard: 'http://localhost:80/compat/scalingo', ssh: null, default: true }],
      });
    });
  });
}
