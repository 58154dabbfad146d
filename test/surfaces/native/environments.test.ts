import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../support/identity.ts';

const ENVIRONMENTS = '/api/iam/environments/';
const CONNECTIONS = '/api/iam/service-connections/';
const COMPUTE = '00000000-0000-4000-8000-00000000c0de';

for (const database of testDatabases) {
  describe(`environments and service connections [${database.name}]`, () => {
    let app: TestApp;
    let child: string;
    let stranger: TestUser;
    let member: TestUser;
    let alice: TestUser; // admin of organization A, where these tests act
    before(async () => {
      app = await startTestApp(database);
      const orgA = await addOrganization(app, 'Env A');
      alice = await addUser(app, 'env-alice', { role: 'admin', organization: orgA });
      child = await addOrganization(app, 'Child', { token: alice.session });
      stranger = await addUser(app, 'env-stranger', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') });
      member = await addUser(app, 'env-member', { role: 'member', token: alice.session });
    });
    after(() => app.close());

    const request = (options: Parameters<TestApp['request']>[0]) => app.request({ token: alice.session, ...options });
    const create = (payload: object, token = alice.session, query = '') => app.request({ method: 'POST', url: `${ENVIRONMENTS}${query}`, payload, token });

    it('lists the compute service connection under its configured code', async () => {
      const list = await request({ method: 'GET', url: CONNECTIONS });
      assert.equal(list.statusCode, 200, list.body);
      assert.deepEqual(list.json().results, [{ id: COMPUTE, code: 'compute', name: 'Nimbus compute', type: 'compute' }]);
      assert.equal((await request({ method: 'GET', url: `${CONNECTIONS}${COMPUTE}/` })).json().code, 'compute');
      assert.equal((await request({ method: 'GET', url: `${CONNECTIONS}00000000-0000-4000-8000-000000000000/` })).statusCode, 404);
    });

    it('creates, reads, renames and deletes an environment; its creator is its owner member', async () => {
      const res = await create({ name: 'staging', description: 'Pre-production', service_connection: COMPUTE });
      assert.equal(res.statusCode, 201, res.body);
      const environment = res.json();
      assert.equal(environment.service_connection, COMPUTE);
      assert.equal(res.headers.location, `http://localhost:80${ENVIRONMENTS}${environment.id}/`);
      const members = (await request({ method: 'GET', url: `${ENVIRONMENTS}${environment.id}/members/` })).json().results;
      assert.deepEqual(members.map((m: { username: string; role: string }) => [m.username, m.role]), [['env-alice', 'owner']]);
      const renamed = await request({ method: 'PATCH', url: `${ENVIRONMENTS}${environment.id}/`, payload: { name: 'stage' } });
      assert.equal(renamed.json().name, 'stage');
      assert.equal(renamed.json().description, 'Pre-production');
      assert.equal((await request({ method: 'GET', url: `${ENVIRONMENTS}?name=stage` })).json().count, 1);
      const deleted = await request({ method: 'DELETE', url: `${ENVIRONMENTS}${environment.id}/` });
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.equal((await request({ method: 'GET', url: `${ENVIRONMENTS}${environment.id}/` })).statusCode, 404);
    });

    it('refuses bad names, duplicates and unknown connections, creating nothing', async () => {
      const bad = await create({ name: 'Not Valid', service_connection: COMPUTE });
      assert.deepEqual(bad.json(), { name: ['Use only lowercase letters, digits, dashes and underscores.'] });
      const noConnection = await create({ name: 'ok', service_connection: '00000000-0000-4000-8000-000000000000' });
      assert.deepEqual(noConnection.json(), { service_connection: ['Invalid pk "00000000-0000-4000-8000-000000000000" - object does not exist.'] });
      assert.equal((await create({ name: 'prod', service_connection: COMPUTE })).statusCode, 201);
      const twice = await create({ name: 'prod', service_connection: COMPUTE });
      assert.deepEqual(twice.json(), { name: ['An environment with this name already exists in the organization.'] });
      const move = await request({ method: 'PATCH', url: `${ENVIRONMENTS}${(await create({ name: 'movable', service_connection: COMPUTE })).json().id}/`, payload: { name: 'BAD NAME' } });
      assert.equal(move.statusCode, 400);
      assert.equal((await request({ method: 'GET', url: `${ENVIRONMENTS}?name=ok` })).json().count, 0);
    });

    it('makes environments in a sub-organization, by `organization` or by acting there with org_id', async () => {
      const named = await create({ name: 'kids', service_connection: COMPUTE, organization: child });
      assert.equal(named.json().organization, child);
      const acting = await create({ name: 'kids-too', service_connection: COMPUTE }, alice.session, `?org_id=${child}`);
      assert.equal(acting.json().organization, child);
      // The same name is free in another organization.
      assert.equal((await create({ name: 'kids', service_connection: COMPUTE })).statusCode, 201);
      const inChild = (await request({ method: 'GET', url: `${ENVIRONMENTS}?org_id=${child}` })).json().results.map((e: { name: string }) => e.name);
      assert.deepEqual(inChild.sort(), ['kids', 'kids-too']);
    });

    it('adds, re-roles and removes members; only users of the organization', async () => {
      const environment = (await create({ name: 'team', service_connection: COMPUTE })).json();
      const members = `${ENVIRONMENTS}${environment.id}/members/`;
      const added = await request({ method: 'POST', url: members, payload: { user: member.id, role: 'editor' } });
      assert.equal(added.statusCode, 201, added.body);
      assert.equal(added.json().role, 'editor');
      assert.equal((await request({ method: 'POST', url: members, payload: { user: member.id, role: 'viewer' } })).json().role, 'viewer');
      assert.equal((await request({ method: 'GET', url: `${members}?role=viewer` })).json().count, 1);
      const badRole = await request({ method: 'POST', url: members, payload: { user: member.id, role: 'king' } });
      assert.deepEqual(badRole.json(), { role: ['"king" is not a valid choice. Choose from: owner, editor, viewer.'] });
      const foreign = await request({ method: 'POST', url: members, payload: { user: stranger.id, role: 'viewer' } });
      assert.deepEqual(foreign.json(), { user: [`Invalid pk "${stranger.id}" - object does not exist.`] });
      assert.equal((await request({ method: 'DELETE', url: `${members}${member.id}/` })).statusCode, 204);
      assert.equal((await request({ method: 'DELETE', url: `${members}${member.id}/` })).statusCode, 404);
    });

    it('lets members read but not change environments, and a read-only token read only', async () => {
      const environment = (await create({ name: 'guarded', service_connection: COMPUTE })).json();
      assert.equal((await request({ method: 'GET', url: `${ENVIRONMENTS}${environment.id}/`, token: member.session })).statusCode, 200);
      for (const attempt of [
        { method: 'POST' as const, url: ENVIRONMENTS, payload: { name: 'mine', service_connection: COMPUTE } },
        { method: 'PATCH' as const, url: `${ENVIRONMENTS}${environment.id}/`, payload: { name: 'mine' } },
        { method: 'POST' as const, url: `${ENVIRONMENTS}${environment.id}/members/`, payload: { user: member.id, role: 'owner' } },
        { method: 'DELETE' as const, url: `${ENVIRONMENTS}${environment.id}/` },
      ]) {
        const res = await request({ ...attempt, token: member.session });
        assert.equal(res.statusCode, 403, `${attempt.method} ${attempt.url}: ${res.body}`);
      }
      const readOnly = await addToken(app, alice.session, ['environment:read']);
      assert.equal((await request({ method: 'GET', url: ENVIRONMENTS, token: readOnly.key })).statusCode, 200);
      const refused = await create({ name: 'scoped', service_connection: COMPUTE }, readOnly.key);
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'api_token_acl_not_allowed');
      assert.equal((await request({ method: 'GET', url: `${ENVIRONMENTS}${environment.id}/` })).json().name, 'guarded');
    });

    it("hides other organizations' environments: a 404, never listed", async () => {
      const theirs = (await create({ name: 'secret', service_connection: COMPUTE }, stranger.session)).json();
      for (const attempt of [
        { method: 'GET' as const, url: `${ENVIRONMENTS}${theirs.id}/` },
        { method: 'PATCH' as const, url: `${ENVIRONMENTS}${theirs.id}/`, payload: { name: 'mine' } },
        { method: 'DELETE' as const, url: `${ENVIRONMENTS}${theirs.id}/` },
        { method: 'GET' as const, url: `${ENVIRONMENTS}${theirs.id}/members/` },
        { method: 'POST' as const, url: `${ENVIRONMENTS}${theirs.id}/members/`, payload: { user: member.id, role: 'owner' } },
        { method: 'DELETE' as const, url: `${ENVIRONMENTS}${theirs.id}/members/${stranger.id}/` },
      ]) {
        assert.equal((await request(attempt)).statusCode, 404, `${attempt.method} ${attempt.url}`);
      }
      assert.ok(!(await request({ method: 'GET', url: `${ENVIRONMENTS}?page_size=100` })).json().results.some((e: { id: string }) => e.id === theirs.id));
      // Nor can a server be put in it.
      const server = await request({ method: 'POST', url: '/api/servers/servers/', payload: { name: 'intruder', environment: theirs.id } });
      assert.deepEqual(server.json(), { environment: [`Invalid pk "${theirs.id}" - object does not exist.`] });
      const volume = await request({ method: 'POST', url: '/api/storage/volumes/', payload: { name: 'intruder', size: 16 * 1024 * 1024, environment: theirs.id } });
      assert.deepEqual(volume.json(), { environment: [`Invalid pk "${theirs.id}" - object does not exist.`] });
    });
  });

  describe(`API keys and plans [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    it('generates an API key shown once, hashed at rest; a new one kills the old one at once', async () => {
      const user = await addUser(app, 'keyholder');
      assert.equal((await app.request({ method: 'GET', url: '/api/auth/api-key/', token: user.session })).statusCode, 404);
      const first = await app.request({ method: 'POST', url: '/api/auth/api-key/', token: user.session });
      assert.equal(first.statusCode, 201, first.body);
      const key = first.json().key as string;
      assert.match(key, /^nbkey_[0-9A-Za-z]{36}$/);
      const shown = (await app.request({ method: 'GET', url: '/api/auth/api-key/', token: user.session })).json();
      assert.equal(shown.key, undefined);
      assert.equal(shown.last_characters, key.slice(-4));
      const whoami = await app.request({ method: 'GET', url: '/api/auth/whoami/', token: null, headers: { 'mc-api-key': key } });
      assert.equal(whoami.statusCode, 200, whoami.body);
      assert.equal(whoami.json().username, 'keyholder');
      const stored = await app.nimbus.store.db.selectFrom('api_tokens').selectAll().where('kind', '=', 'api_key').execute();
      assert.ok(stored.every((row) => !JSON.stringify(row).includes(key.slice(6, 30))));

      const second = (await app.request({ method: 'POST', url: '/api/auth/api-key/', token: user.session })).json().key;
      assert.notEqual(second, key);
      assert.equal((await app.request({ method: 'GET', url: '/api/auth/whoami/', token: null, headers: { 'mc-api-key': key } })).statusCode, 401);
      assert.equal((await app.request({ method: 'GET', url: '/api/auth/whoami/', token: null, headers: { 'mc-api-key': second } })).statusCode, 200);
      // A token that may not write tokens may not make keys either.
      const readOnly = await addToken(app, user.session, ['token:read']);
      assert.equal((await app.request({ method: 'POST', url: '/api/auth/api-key/', token: readOnly.key })).statusCode, 403);
      assert.ok(!app.logs().includes(second));
    });

    it('lists plans and finds one by id', async () => {
      const plans = (await app.request({ method: 'GET', url: '/api/servers/plans/' })).json().results;
      assert.ok(plans.length >= 5);
      const small = plans.find((p: { name: string }) => p.name === '1vCPU.512MB');
      assert.deepEqual(small, { id: small.id, name: '1vCPU.512MB', vcpus: 1, memory: 512 * 1024 * 1024 });
      assert.equal((await app.request({ method: 'GET', url: `/api/servers/plans/${small.id}/` })).json().name, '1vCPU.512MB');
      assert.equal((await app.request({ method: 'GET', url: '/api/servers/plans/nope/' })).statusCode, 404);
      const both = await app.request({ method: 'POST', url: '/api/servers/servers/', payload: { name: 'x', plan: small.id, vcpus: 2 } });
      assert.deepEqual(both.json(), { plan: ['Give a plan, or vcpus and memory, not both.'] });
    });
  });
}
