import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Principal } from '../../../src/core/actor.ts';
import { Unauthenticated } from '../../../src/core/errors.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addToken, addUser } from '../../support/identity.ts';
import { registerApplication, tokenRequest } from '../../support/oauth.ts';

for (const database of testDatabases) {
  describe(`credentials resolved again by id [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app?.close());

    const principals = () => app.nimbus.services.principals;
    const presented = (value: string) => principals().principalFor({ kind: 'token', value });
    const again = (principal: Principal) => principals().principalById(principal.credentialKind, principal.credentialId);
    /** Refused within the credential cache's lifetime, as a request presenting it would be. */
    const refusedSoon = (principal: Principal) =>
      eventually('the credential to be refused', async () => (await again(principal).then(() => false, (error) => error instanceof Unauthenticated) ? true : undefined), 5_000);

    it('an API token, and a bearer through its parent token, stand until the token is revoked', async () => {
      const token = await addToken(app, app.token, ['*']);
      const principal = await presented(token.key);
      assert.deepEqual(await again(principal), principal);
      const exchanged = await app.request({ method: 'POST', url: '/api/auth/tokens/exchange/', token: token.key });
      assert.equal(exchanged.statusCode, 200, exchanged.body);
      const bearer = await presented(exchanged.json().token);
      assert.equal(bearer.credentialKind, 'bearer');
      assert.equal((await again(bearer)).userId, principal.userId);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/auth/tokens/${token.id}/` })).statusCode, 204);
      await refusedSoon(principal);
      await refusedSoon(bearer);
    });

    it("a token stands no longer once its user is deactivated", async () => {
      const erin = await addUser(app, 'principals-erin', { role: 'member' });
      const principal = await presented(erin.session);
      await again(principal);
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/users/${erin.id}/`, payload: { is_active: false } })).statusCode, 200);
      await refusedSoon(principal);
    });

    it('an OAuth access token stands until it is revoked', async () => {
      const client = await registerApplication(app, { name: 'Principals client' });
      const issued = await tokenRequest(app, client, { grant_type: 'client_credentials' });
      assert.equal(issued.statusCode, 200, issued.body);
      const principal = await presented(issued.json().access_token);
      assert.equal(principal.credentialKind, 'oauth');
      assert.deepEqual(await again(principal), principal);
      assert.equal((await tokenRequest(app, client, { token: issued.json().access_token }, '/api/oauth/revoke')).statusCode, 200);
      await refusedSoon(principal);
    });

    it('an API credential stands until it is revoked', async () => {
      const created = await app.request({ method: 'POST', url: '/api/auth/credentials/', payload: {} });
      assert.equal(created.statusCode, 201, created.body);
      const { id, username, password } = created.json() as { id: string; username: string; password: string };
      const principal = await principals().principalFor({ kind: 'basic', username, password });
      assert.deepEqual(await again(principal), principal);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/auth/credentials/${id}/` })).statusCode, 204);
      await refusedSoon(principal);
    });

    it("an id under another kind than its own, an unknown id or an unknown kind stands for nobody", async () => {
      const token = await addToken(app, app.token, ['*']);
      for (const [kind, id] of [['oauth', token.id], ['api_credential', token.id], ['personal', '00000000-0000-4000-8000-000000000000'], ['personal', 'not-a-uuid'], ['staff', token.id]] as const) {
        await assert.rejects(principals().principalById(kind as Principal['credentialKind'], id), Unauthenticated, `${kind} ${id}`);
      }
    });
  });
}
