import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, type TestUser } from '../../support/identity.ts';
import type { RegisteredApplication } from '../../support/oauth.ts';
import { allowPasswordGrant, apiCredentials, computestacks, errorsOf, oauthClient, oauthToken, passwordGrantToken, type Credential } from './support.ts';

const signUp = (provider: string, user: Record<string, unknown> = {}) => ({ user: { fname: 'Ada', lname: 'Lovelace', email: `${provider}@example.com`, ...user }, provider_server: 'https://panel.example.com:2087', provider_username: provider });

for (const database of testDatabases) {
  describe(`ComputeStacks sign-up: POST /api/users with the register scope [${database.name}]`, () => {
    let app: TestApp;
    let jo: TestUser; // admin of J
    let orgJ: string;
    let pair: { username: string; password: string };
    let client: RegisteredApplication;

    before(async () => {
      app = await startTestApp(database);
      orgJ = await addOrganization(app, 'Jo Co');
      jo = await addUser(app, 'cs-jo', { role: 'admin', organization: orgJ });
      pair = await apiCredentials(app, jo);
      client = await oauthClient(app);
      await allowPasswordGrant(app, jo.session);
    });
    after(() => app.close());

    const usersOf = async (organization: string) => (await app.request({ method: 'GET', url: `/api/iam/users/?organization=${organization}&page_size=100`, token: jo.session })).json().results as { id: string; username: string; role: string; organization: string }[];

    it("creates a user of the caller's organization (a member, no login password) and answers 201 with its API credentials, which work", async () => {
      const res = await computestacks(app, pair, 'POST', '/api/users', signUp('alice'));
      assert.equal(res.statusCode, 201, res.body);
      const { user } = res.json();
      assert.deepEqual({ fname: user.fname, lname: user.lname, email: user.email, username: user.username }, { fname: 'Ada', lname: 'Lovelace', email: 'alice@example.com', username: 'alice@panel.example.com' });
      assert.match(user.api.username, /^nbu_/);
      assert.equal(typeof user.api.password, 'string');
      assert.equal(typeof user.currency, 'string');
      const created = (await usersOf(orgJ)).find((u) => u.id === user.id)!;
      assert.deepEqual({ role: created.role, organization: created.organization }, { role: 'member', organization: orgJ });
      const me = await computestacks(app, user.api, 'GET', '/api/users');
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().user.id, user.id);
      // A member places orders but cannot sign others up.
      errorsOf(await computestacks(app, user.api, 'POST', '/api/users', signUp('mallory')), 403);
      const login = await app.request({ method: 'POST', url: '/api/auth/login/', token: null, payload: { username: 'alice@panel.example.com', password: '' } });
      assert.notEqual(login.statusCode, 200, login.body);
    });

    it("signs up with an OAuth token carrying register; the new pair is worth no more than that token's scopes", async () => {
      const token = await passwordGrantToken(app, client, pair, 'register profile_read');
      const res = await computestacks(app, token, 'POST', '/api/users', { user: { fname: 'Bo', lname: 'Bee', provider_server: 'panel.example.com', provider_username: 'bo' } });
      assert.equal(res.statusCode, 201, res.body);
      const created: Credential = res.json().user.api;
      assert.equal((await computestacks(app, created, 'GET', '/api/users')).statusCode, 200);
      errorsOf(await computestacks(app, created, 'GET', '/api/zones'), 403);
      errorsOf(await computestacks(app, created, 'GET', '/api/projects'), 403);
    });

    it('refuses callers without register, without the right to add users, or acting for no user', async () => {
      const before = (await usersOf(orgJ)).length;
      errorsOf(await computestacks(app, await passwordGrantToken(app, client, pair, 'profile_read profile_write'), 'POST', '/api/users', signUp('carol')), 403);
      const clientOnly = (await oauthToken(app, client, { grant_type: 'client_credentials', scope: 'public' })).json().access_token;
      errorsOf(await computestacks(app, clientOnly, 'POST', '/api/users', signUp('dan')), 403);
      for (const role of ['member', 'viewer']) {
        const someone = await apiCredentials(app, await addUser(app, `cs-jo-${role}`, { role, token: jo.session }));
        errorsOf(await computestacks(app, someone, 'POST', '/api/users', signUp(`eve-${role}`)), 403);
      }
      assert.equal((await usersOf(orgJ)).length, before + 2);
    });

    it("makes a sub-organization's admin's users in that sub-organization, never above it", async () => {
      const child = await addOrganization(app, 'Jo Co child', { token: jo.session });
      const childAdmin = await apiCredentials(app, await addUser(app, 'cs-jo-child-admin', { role: 'admin', organization: child, token: jo.session }));
      const parentProject = (await app.request({ method: 'POST', url: '/api/projects/projects/', token: jo.session, payload: { name: 'Parent only' } })).json().id;
      const res = await computestacks(app, childAdmin, 'POST', '/api/users', signUp('fay'));
      assert.equal(res.statusCode, 201, res.body);
      const { user } = res.json();
      assert.deepEqual((await usersOf(child)).filter((u) => u.id === user.id).map((u) => u.organization), [child]);
      errorsOf(await computestacks(app, user.api, 'GET', `/api/projects/${parentProject}`), 404);
      assert.ok(!(await computestacks(app, user.api, 'GET', '/api/projects')).json().projects.some((p: { id: string }) => p.id === parentProject));
    });

    it("refuses bad input with 422 {errors} in ComputeStacks' names, and creates nobody", async () => {
      const before = (await usersOf(orgJ)).length;
      const cases: [unknown, RegExp][] = [
        [{ fname: 'x' }, /^param is missing or the value is empty: user$/],
        [{ user: { fname: 'Ada', lname: 'L' } }, /^missing provider settings$/],
        [signUp('gus', { fname: '' }), /^fname: can't be blank$/],
        [signUp('gus', { lname: undefined }), /^lname: can't be blank$/],
        [signUp('gus', { email: 'not-an-email' }), /^email: /],
        [signUp('gus', { currency: 'XXX' }), /^currency: only /],
        [signUp('gus', { vat: 'EU123' }), /^vat: is not kept/],
        [signUp('alice'), /^provider_username: .*already exists/],
      ];
      for (const [payload, message] of cases) {
        const messages = errorsOf(await computestacks(app, pair, 'POST', '/api/users', payload), 422);
        assert.ok(messages.some((m) => message.test(m)), `${message}: ${JSON.stringify(messages)}`);
      }
      assert.equal((await usersOf(orgJ)).length, before);
    });
  });
}
