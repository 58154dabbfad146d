import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSecretBox } from '../../../../src/core/secrets/secret-box.ts';
import { startTestApp, TEST_SECRET_KEY, type TestApp } from '../../../support/app.ts';
import { opensslSkipReason, selfSigned } from '../../../support/certificates.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../../support/identity.ts';
import { get } from '../compute/support.ts';

const APPS = '/api/apps/apps/';

for (const database of testDatabases) {
  describe(`app custom domains [${database.name}]`, { skip: opensslSkipReason ?? false }, () => {
    let app: TestApp;
    let alice: TestUser; // admin of A, owns shop-front and shop-admin
    let bob: TestUser; // admin of B
    let viewer: TestUser; // viewer of A
    const shop = selfSigned(['shop.example.com']);
    const other = selfSigned(['other.example.com']);
    let domainId: string;

    before(async () => {
      app = await startTestApp(database);
      const orgA = await addOrganization(app, 'Domains A');
      alice = await addUser(app, 'domains-alice', { role: 'admin', organization: orgA });
      bob = await addUser(app, 'domains-bob', { role: 'admin', organization: await addOrganization(app, 'Domains B') });
      viewer = await addUser(app, 'domains-viewer', { role: 'viewer', organization: orgA });
      for (const [name, token] of [['shop-front', alice.session], ['shop-admin', alice.session], ['bobs-app', bob.session]] as const) {
        assert.equal((await app.request({ method: 'POST', url: APPS, token, payload: { name } })).statusCode, 201);
      }
    });
    after(() => app.close());

    const domains = (appRef: string, token = alice.session) => app.request({ method: 'GET', url: `${APPS}${appRef}/domains/`, token });
    const add = (appRef: string, payload: object, token = alice.session) => app.request({ method: 'POST', url: `${APPS}${appRef}/domains/`, token, payload });
    const names = async (appRef: string, token = alice.session) => (await domains(appRef, token)).json().domains.map((d: { name: string }) => d.name);
    const sealedKey = async (name: string) => (await app.nimbus.store.db.selectFrom('app_domains').select('tls_key_sealed').where('name', '=', name).executeTakeFirstOrThrow()).tls_key_sealed;

    it('adds a domain, lists it and shows it by id and by name, with an event', async () => {
      const res = await add('shop-front', { name: 'WWW.Example.com.' });
      assert.equal(res.statusCode, 201, res.body);
      const domain = res.json();
      assert.equal(domain.name, 'www.example.com');
      assert.equal(domain.ssl, false);
      assert.equal(domain.tls_cert, null);
      assert.equal(res.headers.location, domain.url);
      assert.deepEqual(await names('shop-front'), ['www.example.com']);
      assert.equal((await get(app, `${APPS}shop-front/domains/${domain.id}/`, alice.session)).name, 'www.example.com');
      assert.equal((await get(app, `${APPS}shop-front/domains/www.example.com/`, alice.session)).id, domain.id);
      const events = (await get(app, `/api/events/events/?type=app.new_domain`, alice.session)).results;
      assert.equal(events[0].data.domain, 'www.example.com');
    });

    it('adds a domain with its certificate: the key is sealed at rest, never returned nor logged', async () => {
      const res = await add('shop-front', { name: 'shop.example.com', tls_cert: shop.cert, tls_key: shop.key });
      assert.equal(res.statusCode, 201, res.body);
      domainId = res.json().id;
      assert.equal(res.json().ssl, true);
      assert.equal(res.json().tls_cert.trim(), shop.cert.trim());
      assert.ok(new Date(res.json().tls_expires_at) > new Date());
      const keyLine = shop.key.split('\n')[1]!;
      for (const body of [res.body, (await domains('shop-front')).body, (await app.request({ method: 'GET', url: `${APPS}shop-front/domains/${domainId}/`, token: alice.session })).body]) {
        assert.ok(!body.includes('PRIVATE KEY') && !body.includes(keyLine), 'no key in answers');
      }
      const sealed = await sealedKey('shop.example.com');
      assert.match(sealed!, /^v1\./);
      assert.ok(!sealed!.includes('PRIVATE'));
      assert.equal(createSecretBox(TEST_SECRET_KEY).open(sealed!, `app_domain:${domainId}`).toString().startsWith('-----BEGIN PRIVATE KEY-----'), true);
      assert.ok(!app.logs().includes(keyLine), 'no key in the logs');
    });

    it('refuses bad names, bad PEM, a mismatched key and an uncovered name, changing nothing', async () => {
      const before = (await domains('shop-front')).body;
      const cases: [object, string][] = [
        [{ name: 'localhost' }, 'name'],
        [{ name: '10.1.2.3' }, 'name'],
        [{ name: 'bobs-app.apps.localhost' }, 'name'],
        [{ name: 'bad.example.com', tls_cert: 'not a certificate', tls_key: shop.key }, 'tls_cert'],
        [{ name: 'shop.example.org', tls_cert: shop.cert, tls_key: shop.key }, 'tls_cert'],
        [{ name: 'other.example.com', tls_cert: other.cert, tls_key: shop.key }, 'tls_key'],
        [{ name: 'other.example.com', tls_cert: other.cert }, 'tls_key'],
        [{ name: 'other.example.com', tls_key: other.key }, 'tls_cert'],
      ];
      for (const [payload, field] of cases) {
        const res = await add('shop-front', payload);
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 80)}: ${res.body}`);
        assert.ok(res.json()[field], `${field}: ${res.body}`);
        assert.ok(!res.body.includes(shop.key.split('\n')[1]!));
      }
      const patch = await app.request({ method: 'PATCH', url: `${APPS}shop-front/domains/${domainId}/`, token: alice.session, payload: { tls_cert: other.cert, tls_key: other.key } });
      assert.equal(patch.statusCode, 400, patch.body);
      assert.ok(patch.json().tls_cert, 'the certificate must cover the domain');
      assert.equal((await domains('shop-front')).body, before);
    });

    it('keeps a name for one app: neither another app nor another organization can claim it', async () => {
      const sameOrg = await add('shop-admin', { name: 'www.example.com' });
      assert.equal(sameOrg.statusCode, 400, sameOrg.body);
      assert.deepEqual(sameOrg.json(), { name: ['is already taken'] });
      const stranger = await add('bobs-app', { name: 'shop.example.com', tls_cert: shop.cert, tls_key: shop.key }, bob.session);
      assert.equal(stranger.statusCode, 400, stranger.body);
      assert.deepEqual(stranger.json(), { name: ['is already taken'] });
      assert.deepEqual(await names('bobs-app', bob.session), []);
      assert.deepEqual(await names('shop-admin'), []);
    });

    it("answers 404 for another organization's app and for a domain of another app", async () => {
      for (const [method, url, payload] of [
        ['GET', `${APPS}shop-front/domains/`, undefined],
        ['POST', `${APPS}shop-front/domains/`, { name: 'evil.example.com' }],
        ['GET', `${APPS}shop-front/domains/${domainId}/`, undefined],
        ['PATCH', `${APPS}shop-front/domains/${domainId}/`, { tls_cert: null, tls_key: null }],
        ['DELETE', `${APPS}shop-front/domains/${domainId}/`, undefined],
        ['GET', `${APPS}bobs-app/domains/${domainId}/`, undefined],
        ['DELETE', `${APPS}bobs-app/domains/shop.example.com/`, undefined],
      ] as const) {
        const res = await app.request({ method, url, token: bob.session, ...(payload ? { payload } : {}) });
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      }
      assert.equal((await app.request({ method: 'DELETE', url: `${APPS}shop-admin/domains/${domainId}/`, token: alice.session })).statusCode, 404, 'a domain is reached under its own app only');
      assert.deepEqual(await names('shop-front'), ['shop.example.com', 'www.example.com']);
    });

    it('lets readers read and only writers change', async () => {
      assert.deepEqual(await names('shop-front', viewer.session), ['shop.example.com', 'www.example.com']);
      assert.equal((await add('shop-front', { name: 'viewer.example.com' }, viewer.session)).statusCode, 403);
      assert.equal((await app.request({ method: 'DELETE', url: `${APPS}shop-front/domains/${domainId}/`, token: viewer.session })).statusCode, 403);
      const readOnly = await addToken(app, alice.session, ['app:read']);
      assert.equal((await add('shop-front', { name: 'scoped.example.com' }, readOnly.key)).statusCode, 403);
      assert.deepEqual(await names('shop-front'), ['shop.example.com', 'www.example.com']);
    });

    it('removes a certificate with nulls, then the domain, freeing its name', async () => {
      const cleared = await app.request({ method: 'PATCH', url: `${APPS}shop-front/domains/shop.example.com/`, token: alice.session, payload: { tls_cert: null, tls_key: null } });
      assert.equal(cleared.statusCode, 200, cleared.body);
      assert.equal(cleared.json().ssl, false);
      assert.equal(await sealedKey('shop.example.com'), null);
      const gone = await app.request({ method: 'DELETE', url: `${APPS}shop-front/domains/${domainId}/`, token: alice.session });
      assert.equal(gone.statusCode, 204);
      assert.deepEqual(await names('shop-front'), ['www.example.com']);
      assert.equal((await add('bobs-app', { name: 'shop.example.com' }, bob.session)).statusCode, 201);
    });
  });
}
