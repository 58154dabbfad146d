import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFound, Unauthenticated, ValidationFailed } from '../../../src/core/errors.ts';
import { ACCOUNT_TOKEN_IDLE_SECONDS } from '../../../src/core/tokens/account-token-service.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { actorFor, addUser, GOOD_PASSWORD } from '../../support/identity.ts';

const context = { requestId: 'test', clientAddress: '192.0.2.1' };

for (const database of testDatabases) {
  describe(`account tokens [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(async () => {
      await app?.close();
    });

    const accountTokens = () => app.nimbus.services.accountTokens;
    const expiryOf = async (id: string) => (await app.nimbus.store.db.selectFrom('api_tokens').select(['expires_at', 'token_hash']).where('id', '=', id).executeTakeFirstOrThrow()).expires_at;

    it('exchanges a password for a UUID that never expires, stored only as its hash', async () => {
      const { token, secret } = await accountTokens().create(context, { username: 'admin', password: app.adminPassword, expires: false, description: 'laptop' });
      assert.match(secret, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(token.id, secret);
      assert.equal(token.expiresAt, null);
      assert.equal(token.description, 'laptop');
      const stored = await app.nimbus.store.db.selectFrom('api_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow();
      assert.equal(stored.kind, 'account');
      assert.ok(!JSON.stringify(stored).includes(secret));
      const actor = await actorFor(app, secret);
      assert.equal(actor.principal.credentialKind, 'account');
      assert.equal(actor.principal.credentialId, token.id);
    });

    it('takes an e-mail address instead of a user name, when exactly one account has it', async () => {
      const ana = await addUser(app, 'ana-tokens', { role: 'member' });
      const patched = await app.request({ method: 'PATCH', url: `/api/iam/users/${ana.id}/`, payload: { email: 'Ana@Example.org' } });
      assert.equal(patched.statusCode, 200, patched.body);
      const { token } = await accountTokens().create(context, { email: 'ana@example.org', password: GOOD_PASSWORD });
      assert.equal(token.userId, ana.id);
      const bob = await addUser(app, 'bob-tokens');
      await app.request({ method: 'PATCH', url: `/api/iam/users/${bob.id}/`, payload: { email: 'ana@example.org' } });
      await assert.rejects(accountTokens().create(context, { email: 'ana@example.org', password: GOOD_PASSWORD }), Unauthenticated);
    });

    it('refuses a wrong password or a missing one, creating nothing', async () => {
      const before = await app.nimbus.store.db.selectFrom('api_tokens').select('id').where('kind', '=', 'account').execute();
      await assert.rejects(accountTokens().create(context, { username: 'admin', password: 'wrong' }), Unauthenticated);
      await assert.rejects(accountTokens().create(context, { email: 'admin@nowhere.test' }), (error: unknown) => error instanceof ValidationFailed && 'password' in error.fields);
      await assert.rejects(accountTokens().create(context, { password: 'x' }), (error: unknown) => error instanceof ValidationFailed && 'username' in error.fields);
      const now = await app.nimbus.store.db.selectFrom('api_tokens').select('id').where('kind', '=', 'account').execute();
      assert.equal(now.length, before.length);
    });

    it('with expires, lives 30 minutes after its last use: a use moves the expiry ahead', async () => {
      const { token, secret } = await accountTokens().create(context, { username: 'admin', password: app.adminPassword, expires: true });
      const created = Date.parse(token.expiresAt!);
      assert.ok(Math.abs(created - (Date.now() + ACCOUNT_TOKEN_IDLE_SECONDS * 1000)) < 5_000);
      // As if 29 minutes went by without a use.
      const soon = new Date(Date.now() + 60_000).toISOString();
      await app.nimbus.store.db.updateTable('api_tokens').set({ expires_at: soon }).where('id', '=', token.id).execute();
      await actorFor(app, secret);
      const slid = Date.parse((await expiryOf(token.id))!);
      assert.ok(slid > Date.parse(soon) + 25 * 60_000, `expiry moved to ${new Date(slid).toISOString()}`);
    });

    it('refuses a token past its expiry, and a use does not revive it', async () => {
      const { token, secret } = await accountTokens().create(context, { username: 'admin', password: app.adminPassword, expires: true });
      const past = new Date(Date.now() - 1000).toISOString();
      await app.nimbus.store.db.updateTable('api_tokens').set({ expires_at: past }).where('id', '=', token.id).execute();
      await assert.rejects(app.nimbus.services.tokens.authenticate(secret), (error: unknown) => error instanceof Unauthenticated && error.code === 'token_expired');
      assert.equal(await expiryOf(token.id), past);
    });

    it('is read, changed and revoked by its user, named by its id or its secret; nobody else sees it', async () => {
      const { token, secret } = await accountTokens().create(context, { username: 'admin', password: app.adminPassword, expires: true });
      const admin = await actorFor(app, app.token);
      assert.equal((await accountTokens().get(admin, secret)).id, token.id);
      assert.ok((await accountTokens().list(admin)).some((t) => t.id === token.id));
      const forever = await accountTokens().update(admin, token.id, { expires: false, description: 'renamed' });
      assert.equal(forever.expiresAt, null);
      assert.equal(forever.description, 'renamed');
      assert.equal(await expiryOf(token.id), null);

      const eve = await addUser(app, 'eve-tokens', { role: 'admin' });
      const eveActor = await actorFor(app, eve.session);
      await assert.rejects(accountTokens().get(eveActor, token.id), NotFound);
      await assert.rejects(accountTokens().remove(eveActor, secret), NotFound);

      await accountTokens().remove(admin, secret);
      await assert.rejects(app.nimbus.services.tokens.authenticate(secret), Unauthenticated);
      await assert.rejects(accountTokens().get(admin, token.id), NotFound);
    });

    it('checks its description', async () => {
      await assert.rejects(accountTokens().create(context, { username: 'admin', password: app.adminPassword, description: 'x'.repeat(201) }), ValidationFailed);
    });
  });
}
