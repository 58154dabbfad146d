import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../support/app.ts';
import { testDatabases } from '../support/databases.ts';
import { addOrganization, addUser, login, type TestUser } from '../support/identity.ts';
import { workspaceOf } from '../../src/http/workspace.ts';

const settings = { baseDomain: 'cloud.test', region: 'eu1' };

describe('workspace hosts', () => {
  it('name a workspace only as <slug>.<region>.<base domain>, in any case, with any port', () => {
    assert.equal(workspaceOf('acme.eu1.cloud.test', settings), 'acme');
    assert.equal(workspaceOf('ACME.EU1.Cloud.Test:8443', settings), 'acme');
    assert.equal(workspaceOf('acme.eu1.cloud.test.', settings), 'acme');
    for (const host of ['eu1.cloud.test', 'a.b.eu1.cloud.test', 'acme.us1.cloud.test', 'acme.eu1.cloud.test.evil', '-x.eu1.cloud.test', '127.0.0.1:8080', undefined]) {
      assert.equal(workspaceOf(host, settings), undefined, String(host));
    }
    assert.equal(workspaceOf('acme.eu1.cloud.test', null), undefined);
  });
});

for (const database of testDatabases) {
  describe(`workspace endpoints [${database.name}]`, () => {
    let app: TestApp;
    let acme: { id: string; slug: string };
    let own: { id: string; slug: string };
    let bob: TestUser; // admin of another organization
    let alice: TestUser; // admin of Acme

    const at = (slug: string) => ({ host: `${slug}.nimbus.cloud.test` });
    const call = async (method: string, url: string, headers: Record<string, string>, token?: string | null, payload?: object) => {
      const res = await app.request({ method: method as 'GET', url, headers, token, payload });
      return { status: res.statusCode, body: res.body ? res.json() : null };
    };

    before(async () => {
      app = await startTestApp(database, { baseDomain: 'cloud.test' });
      const acmeId = await addOrganization(app, 'Acme Works');
      acme = { id: acmeId, slug: (await call('GET', `/api/iam/organizations/${acmeId}/`, {})).body.slug };
      const whoami = (await call('GET', '/api/auth/whoami/', {})).body;
      own = { id: whoami.acting_organization, slug: (await call('GET', `/api/iam/organizations/${whoami.acting_organization}/`, {})).body.slug };
      alice = await addUser(app, 'ws-alice', { role: 'admin', organization: acmeId });
      bob = await addUser(app, 'ws-bob', { role: 'admin', organization: await addOrganization(app, 'Bobs') });
    });
    after(async () => {
      await app?.close();
    });

    it('a request to <slug>.<region>.<base domain> acts in that organization', async () => {
      const whoami = await call('GET', '/api/auth/whoami/', at(acme.slug), alice.session);
      assert.equal(whoami.status, 200, JSON.stringify(whoami.body));
      assert.equal(whoami.body.acting_organization, acme.id);
      assert.equal(whoami.body.workspace_url, `http://${acme.slug}.nimbus.cloud.test`);
      // The superuser acts in Acme through its host: what it creates there is Acme's.
      const group = await call('POST', '/api/iam/groups/', at(acme.slug), undefined, { name: 'made-in-acme' });
      assert.equal(group.status, 201, JSON.stringify(group.body));
      const acmeGroups = (await call('GET', '/api/iam/groups/?name=made-in-acme', {}, alice.session)).body;
      assert.equal(acmeGroups.count, 1);
      const ownGroups = (await call('GET', `/api/iam/groups/?name=made-in-acme&org_id=${own.id}`, {})).body.results;
      assert.ok(ownGroups.every((g: { organization?: string }) => g.organization !== own.id));
    });

    it("a credential that may not act in the host's workspace gets a 404, on every surface; an unknown workspace too", async () => {
      for (const url of ['/api/auth/whoami/', '/api/iam/users/', '/api/servers/servers/']) {
        assert.equal((await call('GET', url, at(acme.slug), bob.session)).status, 404, url);
      }
      // CloudMC's surface takes its own carrier, and the same workspace rule.
      assert.equal((await call('GET', '/compat/cloudmc/api/v2/users', { ...at(acme.slug), 'mc-api-key': bob.session }, null)).status, 404);
      assert.equal((await call('GET', '/compat/cloudmc/api/v2/users', { ...at(acme.slug), 'mc-api-key': alice.session }, null)).status, 200);
      assert.equal((await call('GET', '/api/auth/whoami/', at('no-such-workspace'), alice.session)).status, 404);
      assert.equal((await call('GET', '/api/auth/whoami/', at(acme.slug), null)).status, 401, 'no credential: unauthenticated, as anywhere');
      assert.equal((await call('GET', '/api/auth/env/', at('no-such-workspace'), null)).status, 200, 'public routes answer on any host');
    });

    it('login, whoami and the current user show the workspace URL', async () => {
      const session = await call('POST', '/api/auth/login/', at(acme.slug), null, { workspace_url: `http://${acme.slug}.nimbus.cloud.test`, username: 'ws-alice', password: 'violet-tugboat-41' });
      assert.equal(session.status, 200, JSON.stringify(session.body));
      assert.equal(session.body.workspace_url, `http://${acme.slug}.nimbus.cloud.test`);
      const elsewhere = await call('POST', '/api/auth/login/', {}, null, { username: 'ws-alice', password: 'violet-tugboat-41' });
      assert.equal(elsewhere.body.workspace_url, `http://${acme.slug}.nimbus.cloud.test`, "another host answers the user's own workspace");
      assert.equal((await call('GET', '/api/iam/users/-/', {}, alice.session)).body.workspace_url, `http://${acme.slug}.nimbus.cloud.test`);
      assert.equal((await call('GET', '/api/auth/whoami/', {})).body.workspace_url, `http://${own.slug}.nimbus.cloud.test`);
      const viaOrgId = await call('GET', `/api/auth/whoami/?org_id=${acme.id}`, {});
      assert.equal(viaOrgId.body.workspace_url, `http://${acme.slug}.nimbus.cloud.test`, 'the acting organization');
    });
  });

  describe(`without NIMBUS_BASE_DOMAIN [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(async () => {
      await app?.close();
    });

    it('no host is a workspace, and the workspace URL is the address the request came to', async () => {
      const acme = await addOrganization(app, 'Acme Plain');
      const slug = (await app.request({ method: 'GET', url: `/api/iam/organizations/${acme}/` })).json().slug;
      const whoami = await app.request({ method: 'GET', url: '/api/auth/whoami/', headers: { host: `${slug}.nimbus.cloud.test` } });
      assert.notEqual(whoami.json().acting_organization, acme);
      assert.equal(whoami.json().workspace_url, `http://${slug}.nimbus.cloud.test`);
      const session = await login(app, 'admin', app.adminPassword);
      assert.equal((await app.request({ method: 'GET', url: '/api/iam/users/-/', token: session, headers: { host: 'api.example.net:8080' } })).json().workspace_url, 'http://api.example.net:8080');
    });
  });
}
