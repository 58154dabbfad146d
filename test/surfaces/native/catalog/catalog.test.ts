import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addToken, addUser } from '../../../support/identity.ts';

for (const database of testDatabases) {
  describe(`catalog: locations and packages with prices [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database, { catalog: { currency: 'EUR', prices: { M: '7.5' }, region: 'paris-1' } });
    });
    after(() => app.close());

    it("lists the installation's region as its location, with this machine as its zone", async () => {
      const list = await app.request({ method: 'GET', url: '/api/catalog/locations/' });
      assert.equal(list.statusCode, 200, list.body);
      const [location] = list.json().results;
      assert.equal(list.json().count, 1);
      assert.equal(location.name, 'paris-1');
      assert.equal(location.zones.length, 1);
      assert.deepEqual((await app.request({ method: 'GET', url: `/api/catalog/locations/${location.id}/` })).json(), location);
      assert.equal((await app.request({ method: 'GET', url: '/api/catalog/locations/00000000-0000-4000-8000-000000000000/' })).statusCode, 404);
    });

    it('prices packages in the configured currency as exact decimal strings', async () => {
      const all = (await app.request({ method: 'GET', url: '/api/catalog/packages/' })).json().results;
      assert.ok(all.every((p: { price: { amount: unknown; currency: string } }) => typeof p.price.amount === 'string' && p.price.currency === 'EUR'));
      const containers = (await app.request({ method: 'GET', url: '/api/catalog/packages/?kind=container' })).json().results;
      assert.deepEqual(containers.map((p: { name: string }) => p.name), ['S', 'M', 'L', 'XL', '2XL']);
      const m = containers.find((p: { name: string }) => p.name === 'M');
      assert.deepEqual(m.price, { amount: '7.50', currency: 'EUR', term: 'month' });
      assert.equal(m.memory, 512 * 1024 * 1024);
      const plan = (await app.request({ method: 'GET', url: '/api/catalog/packages/00000000-0000-4000-8000-0000000a0001/' })).json();
      assert.deepEqual([plan.kind, plan.name, plan.price.amount], ['server', '1vCPU.128MB', '2.00']);
      const bad = await app.request({ method: 'GET', url: '/api/catalog/packages/?kind=gpu' });
      assert.equal(bad.statusCode, 400);
      assert.ok(bad.json().kind, bad.body);
      assert.equal((await app.request({ method: 'GET', url: '/api/catalog/packages/00000000-0000-4000-8000-000000000000/' })).statusCode, 404);
    });

    it('is readable by any member, and by a token with only the public scope', async () => {
      const viewer = await addUser(app, 'catalog-viewer', { role: 'viewer', organization: await addOrganization(app, 'Catalog org') });
      assert.equal((await app.request({ method: 'GET', url: '/api/catalog/packages/', token: viewer.session })).statusCode, 200);
      const publicOnly = await addToken(app, viewer.session, ['public:read']);
      assert.equal((await app.request({ method: 'GET', url: '/api/catalog/locations/', token: publicOnly.key })).statusCode, 200);
      const projectsOnly = await addToken(app, viewer.session, ['project:read']);
      assert.equal((await app.request({ method: 'GET', url: '/api/catalog/packages/', token: projectsOnly.key })).statusCode, 403);
      assert.equal((await app.request({ method: 'GET', url: '/api/catalog/packages/', token: null })).statusCode, 401);
    });
  });
}
