import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createNimbus, type Nimbus } from '../../../src/app.ts';
import { DEFAULT_IDENTITY_SETTINGS } from '../../../src/config.ts';
import { createLogger } from '../../../src/logger.ts';
import { startTestApp, TEST_SECRET_KEY, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addUser, bearer } from '../../support/identity.ts';
import { authorizationCodeTokens, registerApplication, tokenRequest } from '../../support/oauth.ts';
import { CREDENTIAL_CACHE_TTL_MS } from '../../../src/core/auth/credential-cache.ts';

/** Behaviour that involves two replicas of the API over one database. */
for (const database of testDatabases) {
  describe(`two replicas over one database [${database.name}]`, () => {
    let app: TestApp;
    let replica: Nimbus;
    before(async () => {
      const identity = { keyRotationSeconds: 1 };
      app = await startTestApp(database, { identity });
      const quiet = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
      replica = await createNimbus({ bodyLimit: 1024 * 1024, databaseUrl: undefined, dataDir: '', secretKey: TEST_SECRET_KEY, identity: { ...DEFAULT_IDENTITY_SETTINGS, ...identity } }, quiet, app.nimbus.store);
    });
    after(async () => {
      await replica.http.close();
      await app.close();
    });

    const exchange = async (server: Nimbus) => {
      const res = await server.http.inject({ method: 'POST', url: '/api/auth/tokens/exchange/', headers: { authorization: `token="${app.token}"` } });
      assert.equal(res.statusCode, 200, res.body);
      return res.json().token as string;
    };
    const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;
    const status = (server: Nimbus, jwt: string) => server.http.inject({ method: 'GET', url: '/api/status/', headers: bearer(jwt) });

    it('verifies on one replica the bearers another signed, across key rotations', async () => {
      const first = await exchange(app.nimbus);
      assert.equal((await status(replica, first)).statusCode, 200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const second = await exchange(replica);
      assert.notEqual(kidOf(second), kidOf(first), 'a new key signs once the old one retired');
      assert.equal((await status(app.nimbus, second)).statusCode, 200);
      assert.equal((await status(replica, first)).statusCode, 200, 'a retired key still verifies the bearers it signed');
      const keys = await app.nimbus.store.db.selectFrom('signing_keys').select('id').execute();
      assert.equal(keys.length, 2);
    });

    it('stops an OAuth access token revoked on one replica at once there, and on the other within the credential cache lifetime', async () => {
      const client = await registerApplication(app);
      const { access_token } = await authorizationCodeTokens(app, client);
      assert.equal((await status(replica, access_token)).statusCode, 200, 'the other replica has verified (and cached) the token');
      assert.equal((await tokenRequest(app, client, { token: access_token, token_type_hint: 'access_token' }, '/api/oauth/revoke')).statusCode, 200);
      const revokedAt = Date.now();
      assert.equal((await status(app.nimbus, access_token)).statusCode, 401);
      while ((await status(replica, access_token)).statusCode === 200) {
        assert.ok(Date.now() - revokedAt <= CREDENTIAL_CACHE_TTL_MS + 500, 'the revocation reached the other replica within the documented delay');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal((await status(replica, access_token)).statusCode, 401);
    });

    it('keeps a group owner when two owners are removed at once from two replicas', async () => {
      const other = await addUser(app, 'co-owner');
      const group = (await app.request({ method: 'POST', url: '/api/iam/groups/', payload: { name: 'racing' } })).json();
      await app.request({ method: 'POST', url: '/api/iam/memberships/', payload: { group: group.id, user: other.id, role: 'owner' } });
      const owners = (await app.request({ method: 'GET', url: `/api/iam/memberships/?group=${group.id}` })).json().results;
      assert.equal(owners.length, 2);
      const headers = { authorization: `token="${app.token}"` };
      const results = await Promise.all(
        owners.map((m: { id: string }, i: number) => (i === 0 ? app.nimbus : replica).http.inject({ method: 'DELETE', url: `/api/iam/memberships/${m.id}/`, headers })),
      );
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [204, 400]);
      const left = (await app.request({ method: 'GET', url: `/api/iam/memberships/?group=${group.id}&role=owner` })).json();
      assert.equal(left.count, 1);
    });
  });
}
