import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { opensslSkipReason, selfSigned } from '../../support/certificates.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { exchange, invalid, ISO_WITH_MS, notFound, plainError, scalingo, scalingoToken } from './support.ts';

for (const database of testDatabases) {
  describe(`Scalingo domains (with certificates) and collaborators [${database.name}]`, { skip: opensslSkipReason ?? false }, () => {
    let app: TestApp;
    let alice: string; // admin of Acme, whose app shop-front is
    let viewer: string; // viewer in Acme
    let bob: string; // admin of Globex
    let carol: string; // member of Globex, invited to shop-front
    const cert = selfSigned(['www.shop.example', 'shop.example']);

    before(async () => {
      app = await startTestApp(database);
      const acme = await addOrganization(app, 'Acme');
      const globex = await addOrganization(app, 'Globex');
      const admin = await addUser(app, 'alice', { role: 'admin', organization: acme });
      await addUser(app, 'victor', { role: 'viewer', token: admin.session });
      await addUser(app, 'bob', { role: 'admin', organization: globex });
      const carolUser = await addUser(app, 'carol', { role: 'member', organization: globex });
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/users/${carolUser.id}/`, payload: { email: 'carol@example.com' } })).statusCode, 200);
      alice = await exchange(app, await scalingoToken(app, 'alice', GOOD_PASSWORD));
      viewer = await exchange(app, await scalingoToken(app, 'victor', GOOD_PASSWORD));
      bob = await exchange(app, await scalingoToken(app, 'bob', GOOD_PASSWORD));
      carol = await exchange(app, await scalingoToken(app, 'carol', GOOD_PASSWORD));
      assert.equal((await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'shop-front' } })).statusCode, 201);
    });
    after(() => app.close());

    it('adds a domain with its certificate, shows it by id or name, unsets and sets the certificate, removes it', async () => {
      const made = await scalingo(app, alice, 'POST', '/v1/apps/shop-front/domains', { domain: { name: 'www.shop.example', tlscert: cert.cert, tlskey: cert.key } });
      assert.equal(made.statusCode, 201, made.body);
      const { domain } = made.json();
      assert.equal(domain.name, 'www.shop.example');
      assert.equal(domain.ssl, true);
      assert.equal(domain.tlscert, '/CN=www.shop.example');
      assert.equal(domain.tlskey, 'EC prime256v1');
      assert.ok(Date.parse(domain.validity) > Date.now());
      assert.equal(domain.canonical, false);
      assert.match(domain.created_at, ISO_WITH_MS);
      assert.ok(!made.body.includes('PRIVATE KEY'), 'the key is never shown');
      assert.deepEqual((await scalingo(app, alice, 'GET', `/v1/apps/shop-front/domains/${domain.id}`)).json(), { domain });
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps/shop-front/domains/www.shop.example')).json(), { domain });
      assert.deepEqual((await scalingo(app, viewer, 'GET', '/v1/apps/shop-front/domains')).json(), { domains: [domain] });
      // Both empty, as the CLI unsets a certificate.
      const unset = (await scalingo(app, alice, 'PATCH', `/v1/apps/shop-front/domains/${domain.id}`, { domain: { tlscert: '', tlskey: '' } })).json().domain;
      assert.equal(unset.ssl, false);
      assert.equal(unset.tlscert, undefined);
      const set = (await scalingo(app, alice, 'PATCH', `/v1/apps/shop-front/domains/${domain.id}`, { domain: { tlscert: cert.cert, tlskey: cert.key } })).json().domain;
      assert.equal(set.tlscert, '/CN=www.shop.example');
      assert.equal((await scalingo(app, alice, 'DELETE', `/v1/apps/shop-front/domains/${domain.id}`)).statusCode, 204);
      notFound(await scalingo(app, alice, 'GET', `/v1/apps/shop-front/domains/${domain.id}`), 'domain');
    });

    it("refuses bad domains and certificates in Scalingo's shapes, and what it does not offer, changing nothing", async () => {
      const other = selfSigned(['other.example']);
      const add = (domain: unknown, credential = alice) => scalingo(app, credential, 'POST', '/v1/apps/shop-front/domains', { domain });
      assert.deepEqual(invalid(await scalingo(app, alice, 'POST', '/v1/apps/shop-front/domains', {})), { domain: ['missing field'] });
      assert.deepEqual(Object.keys(invalid(await add({ name: 'not a domain' }))), ['name']);
      assert.deepEqual(Object.keys(invalid(await add({ name: 'shop.example', tlscert: other.cert, tlskey: other.key }))).sort(), ['tlscert']);
      assert.deepEqual(Object.keys(invalid(await add({ name: 'shop.example', tlscert: cert.cert, tlskey: other.key }))).sort(), ['tlskey']);
      assert.deepEqual(Object.keys(invalid(await add({ name: 'shop.example', canonical: true }))), ['canonical']);
      assert.deepEqual(Object.keys(invalid(await add({ name: 'shop.example', letsencrypt_enabled: true }))), ['letsencrypt_enabled']);
      plainError(await add({ name: 'shop.example' }, viewer), 403);
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps/shop-front/domains')).json(), { domains: [] });
      const kept = (await add({ name: 'shop.example' })).json().domain;
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'PATCH', `/v1/apps/shop-front/domains/${kept.id}`, { domain: {} }))), ['tlscert']);
      plainError(await scalingo(app, viewer, 'PATCH', `/v1/apps/shop-front/domains/${kept.id}`, { domain: { tlscert: '', tlskey: '' } }), 403);
      plainError(await scalingo(app, viewer, 'DELETE', `/v1/apps/shop-front/domains/${kept.id}`), 403);
      // A name is one app's on the whole installation.
      assert.equal((await scalingo(app, bob, 'POST', '/v1/apps', { app: { name: 'globex-app' } })).statusCode, 201);
      assert.deepEqual(invalid(await scalingo(app, bob, 'POST', '/v1/apps/globex-app/domains', { domain: { name: 'shop.example' } })), { name: ['is already taken'] });
    });

    it('invites a collaborator by email; the invitation link, accepted by that user, gives the app and only it', async () => {
      const res = await scalingo(app, alice, 'POST', '/v1/apps/shop-front/collaborators', { collaborator: { email: 'Carol@Example.com' } });
      assert.equal(res.statusCode, 201, res.body);
      const { collaborator } = res.json();
      assert.equal(collaborator.email, 'carol@example.com');
      assert.equal(collaborator.status, 'pending');
      assert.equal(collaborator.is_limited, false);
      const link = new URL(collaborator.invitation_link);
      assert.equal(link.pathname, '/compat/scalingo/v1/apps/collaboration');
      assert.ok(!(await scalingo(app, alice, 'GET', '/v1/apps/shop-front/collaborators')).body.includes(link.searchParams.get('token')!), 'the token is shown once');
      // Someone else cannot take it.
      plainError(await scalingo(app, bob, 'GET', `${link.pathname.replace('/compat/scalingo', '')}${link.search}`), 403);
      notFound(await scalingo(app, carol, 'GET', '/v1/apps/shop-front'), 'app');
      const accepted = await scalingo(app, carol, 'GET', `/v1/apps/collaboration${link.search}`);
      assert.equal(accepted.statusCode, 200, accepted.body);
      assert.equal(accepted.json().app.name, 'shop-front');
      assert.deepEqual(invalid(await scalingo(app, carol, 'GET', `/v1/apps/collaboration${link.search}`)), { token: ['This invitation is not valid, or was already accepted.'] });
      const listed = (await scalingo(app, alice, 'GET', '/v1/apps/shop-front/collaborators')).json().collaborators;
      assert.deepEqual(listed.map((c: { username: string; status: string }) => [c.username, c.status]), [['carol', 'accepted']]);
      // Carol reaches the app, not what only its organization does.
      assert.ok((await scalingo(app, carol, 'GET', '/v1/apps')).json().apps.some((a: { name: string }) => a.name === 'shop-front'));
      assert.equal((await scalingo(app, carol, 'POST', '/v1/apps/shop-front/variables', { variable: { name: 'FROM', value: 'carol' } })).statusCode, 201);
      plainError(await scalingo(app, carol, 'GET', '/v1/apps/shop-front/collaborators'), 403);
      plainError(await scalingo(app, carol, 'DELETE', '/v1/apps/shop-front?current_name=shop-front'), 403);
      assert.equal((await scalingo(app, alice, 'DELETE', `/v1/apps/shop-front/collaborators/${listed[0].id}`)).statusCode, 204);
      notFound(await scalingo(app, carol, 'GET', '/v1/apps/shop-front'), 'app');
    });

    it("refuses bad invitations in Scalingo's shapes, and another organization's app is a 404", async () => {
      assert.deepEqual(invalid(await scalingo(app, alice, 'POST', '/v1/apps/shop-front/collaborators', {})), { collaborator: ['missing field'] });
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps/shop-front/collaborators', { collaborator: { email: 'nope' } }))), ['email']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps/shop-front/collaborators', { collaborator: { email: 'x@example.com', is_limited: true } }))), ['is_limited']);
      plainError(await scalingo(app, viewer, 'POST', '/v1/apps/shop-front/collaborators', { collaborator: { email: 'x@example.com' } }), 403);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, carol, 'GET', '/v1/apps/collaboration?token=nbinv_forged'))), ['token']);
      for (const [method, path, body] of [
        ['GET', '/domains', undefined],
        ['POST', '/domains', { domain: { name: 'steal.example' } }],
        ['GET', '/domains/shop.example', undefined],
        ['PATCH', '/domains/shop.example', { domain: { tlscert: '', tlskey: '' } }],
        ['DELETE', '/domains/shop.example', undefined],
        ['GET', '/collaborators', undefined],
        ['POST', '/collaborators', { collaborator: { email: 'bob@example.com' } }],
        ['DELETE', '/collaborators/00000000-0000-4000-8000-000000000000', undefined],
      ] as const) {
        notFound(await scalingo(app, bob, method, `/v1/apps/shop-front${path}`, body), 'app');
      }
      assert.equal((await scalingo(app, alice, 'GET', '/v1/apps/shop-front/domains')).json().domains.length, 1);
      assert.equal((await scalingo(app, alice, 'GET', '/v1/apps/shop-front/collaborators')).json().collaborators.length, 0);
    });
  });
}
