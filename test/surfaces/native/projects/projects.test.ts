import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../../support/identity.ts';

const PROJECTS = '/api/projects/projects/';
const APPS = '/api/apps/apps/';

for (const database of testDatabases) {
  describe(`projects [${database.name}]`, () => {
    let app: TestApp;
    let orgA: string;
    let child: string;
    let alice: TestUser; // admin of A
    let viewer: TestUser; // viewer in A
    let childAdmin: TestUser; // admin of A's sub-organization
    let bob: TestUser; // admin of B
    before(async () => {
      app = await startTestApp(database);
      orgA = await addOrganization(app, 'Projects A');
      alice = await addUser(app, 'proj-alice', { role: 'admin', organization: orgA });
      viewer = await addUser(app, 'proj-viewer', { role: 'viewer', token: alice.session });
      child = await addOrganization(app, 'Projects A child', { token: alice.session });
      childAdmin = await addUser(app, 'proj-child-admin', { role: 'admin', organization: child, token: alice.session });
      bob = await addUser(app, 'proj-bob', { role: 'admin', organization: await addOrganization(app, 'Projects B') });
    });
    after(() => app.close());

    const as = (user: TestUser) => (options: Parameters<TestApp['request']>[0]) => app.request({ token: user.session, ...options });
    const create = async (user: TestUser, name: string) => {
      const res = await as(user)({ method: 'POST', url: PROJECTS, payload: { name } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    };
    const newApp = async (user: TestUser, name: string) => {
      const res = await as(user)({ method: 'POST', url: APPS, payload: { name, stack: 'procfile' } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    };

    it('creates, lists, reads, renames and deletes a project', async () => {
      const res = await as(alice)({ method: 'POST', url: PROJECTS, payload: { name: '  Web shop  ' } });
      assert.equal(res.statusCode, 201, res.body);
      const project = res.json();
      assert.equal(project.name, 'Web shop');
      assert.equal(project.state, 'empty');
      assert.equal(project.organization, orgA);
      assert.deepEqual(project.members, []);
      assert.equal(res.headers.location, `http://localhost:80${PROJECTS}${project.id}/`);
      assert.ok(res.headers.etag);
      const listed = (await as(alice)({ method: 'GET', url: `${PROJECTS}?name=Web%20shop` })).json();
      assert.equal(listed.count, 1);
      assert.equal(listed.results[0].id, project.id);
      const renamed = await as(alice)({ method: 'PATCH', url: `${PROJECTS}${project.id}/`, payload: { name: 'Shop' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().name, 'Shop');
      assert.equal((await as(alice)({ method: 'GET', url: `${PROJECTS}${project.id}/` })).json().name, 'Shop');
      const stale = await as(alice)({ method: 'PATCH', url: `${PROJECTS}${project.id}/`, payload: { name: 'Stale' }, headers: { 'if-match': res.headers.etag as string } });
      assert.equal(stale.statusCode, 412, stale.body);
      const deleted = await as(alice)({ method: 'DELETE', url: `${PROJECTS}${project.id}/` });
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.equal((await as(alice)({ method: 'GET', url: `${PROJECTS}${project.id}/` })).statusCode, 404);
    });

    it('groups apps; a resource is in one project at most, and moves when added to another', async () => {
      const first = await create(alice, 'First');
      const second = await create(alice, 'Second');
      const appId = await newApp(alice, 'proj-grouped-app');
      const added = await as(alice)({ method: 'POST', url: `${PROJECTS}${first.id}/members/`, payload: { type: 'app', id: appId } });
      assert.equal(added.statusCode, 201, added.body);
      assert.deepEqual(added.json(), { type: 'app', id: appId, name: 'proj-grouped-app', status: 'new' });
      const read = (await as(alice)({ method: 'GET', url: `${PROJECTS}${first.id}/` })).json();
      assert.equal(read.state, 'stopped');
      assert.deepEqual(read.members.map((m: { id: string }) => m.id), [appId]);
      assert.equal((await as(alice)({ method: 'POST', url: `${PROJECTS}${second.id}/members/`, payload: { type: 'app', id: appId } })).statusCode, 201);
      assert.deepEqual((await as(alice)({ method: 'GET', url: `${PROJECTS}${first.id}/` })).json().members, []);
      assert.equal((await as(alice)({ method: 'GET', url: `${PROJECTS}${second.id}/` })).json().members.length, 1);
      const events = (await as(alice)({ method: 'GET', url: `${PROJECTS}${second.id}/events/` })).json().results.map((e: { type: string }) => e.type);
      assert.ok(events.includes('project.member_added'), events.join());
      assert.ok(events.includes('app.new_app'), 'the events of its members are the project\'s too');
      const out = await as(alice)({ method: 'DELETE', url: `${PROJECTS}${second.id}/members/app/${appId}/` });
      assert.equal(out.statusCode, 204, out.body);
      assert.equal((await as(alice)({ method: 'GET', url: `${APPS}${appId}/` })).statusCode, 200, 'leaving a project keeps the resource');
      assert.equal((await as(alice)({ method: 'DELETE', url: `${PROJECTS}${second.id}/members/app/${appId}/` })).statusCode, 404);
    });

    it('refuses to delete a project that holds resources; with cascade its apps are deleted', async () => {
      const project = await create(alice, 'Doomed');
      const appId = await newApp(alice, 'proj-doomed-app');
      await as(alice)({ method: 'POST', url: `${PROJECTS}${project.id}/members/`, payload: { type: 'app', id: appId } });
      const refused = await as(alice)({ method: 'DELETE', url: `${PROJECTS}${project.id}/` });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.equal(refused.json().code, 'project_not_empty');
      assert.match(refused.json().detail, /holds 1 app/);
      assert.equal((await as(alice)({ method: 'GET', url: `${PROJECTS}${project.id}/` })).json().members.length, 1, 'a refused delete changes nothing');
      const cascaded = await as(alice)({ method: 'DELETE', url: `${PROJECTS}${project.id}/?cascade=true` });
      assert.equal(cascaded.statusCode, 204, cascaded.body);
      assert.equal((await as(alice)({ method: 'GET', url: `${PROJECTS}${project.id}/` })).statusCode, 404);
      const appNow = await as(alice)({ method: 'GET', url: `${APPS}${appId}/` });
      assert.ok(appNow.statusCode === 404 || appNow.json().status === 'deleting', appNow.body);
    });

    it('refuses bad input and changes nothing', async () => {
      const project = await create(alice, 'Strict');
      for (const payload of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(101) }, { name: 'tab\there' }]) {
        const res = await as(alice)({ method: 'POST', url: PROJECTS, payload });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.ok(res.json().name, res.body);
      }
      const bobApp = await newApp(bob, 'proj-bobs-app');
      const cases: [object, string][] = [
        [{ type: 'app', id: bobApp }, 'id'],
        [{ type: 'app', id: 'not-a-uuid' }, 'id'],
        [{ type: 'network', id: bobApp }, 'type'],
        [{ type: 'image', id: '00000000-0000-4000-8000-0000000b0500' }, 'id'],
      ];
      for (const [payload, field] of cases) {
        const res = await as(alice)({ method: 'POST', url: `${PROJECTS}${project.id}/members/`, payload });
        assert.equal(res.statusCode, 400, res.body);
        assert.ok(res.json()[field], res.body);
      }
      assert.equal((await as(alice)({ method: 'PATCH', url: `${PROJECTS}${project.id}/`, payload: { name: '' } })).statusCode, 400);
      const after = (await as(alice)({ method: 'GET', url: `${PROJECTS}${project.id}/` })).json();
      assert.equal(after.name, 'Strict');
      assert.deepEqual(after.members, []);
      assert.equal((await as(alice)({ method: 'GET', url: `${PROJECTS}?name=` + encodeURIComponent('x'.repeat(101)) })).json().count, 0);
    });

    it("answers 404 for another organization's project, and never lists it", async () => {
      const theirs = await create(bob, 'Private');
      for (const [method, url, payload] of [
        ['GET', `${PROJECTS}${theirs.id}/`],
        ['PATCH', `${PROJECTS}${theirs.id}/`, { name: 'Mine' }],
        ['PUT', `${PROJECTS}${theirs.id}/`, { name: 'Mine' }],
        ['DELETE', `${PROJECTS}${theirs.id}/`],
        ['GET', `${PROJECTS}${theirs.id}/events/`],
        ['POST', `${PROJECTS}${theirs.id}/members/`, { type: 'app', id: '00000000-0000-4000-8000-000000000000' }],
      ] as const) {
        const res = await as(alice)({ method, url, ...(payload ? { payload } : {}) });
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      }
      const ids = (await as(alice)({ method: 'GET', url: `${PROJECTS}?page_size=100` })).json().results.map((p: { id: string }) => p.id);
      assert.ok(!ids.includes(theirs.id));
      assert.equal((await as(bob)({ method: 'GET', url: `${PROJECTS}${theirs.id}/` })).json().name, 'Private');
    });

    it('lets a viewer read but not write, and a sub-organization admin act only below', async () => {
      const project = await create(alice, 'Parent level');
      assert.equal((await as(viewer)({ method: 'GET', url: `${PROJECTS}${project.id}/` })).statusCode, 200);
      assert.equal((await as(viewer)({ method: 'POST', url: PROJECTS, payload: { name: 'Nope' } })).statusCode, 403);
      assert.equal((await as(viewer)({ method: 'DELETE', url: `${PROJECTS}${project.id}/` })).statusCode, 403);
      const readOnly = await addToken(app, alice.session, ['project:read']);
      assert.equal((await app.request({ method: 'POST', url: PROJECTS, payload: { name: 'Scoped' }, token: readOnly.key })).statusCode, 403);
      assert.equal((await app.request({ method: 'GET', url: PROJECTS, token: readOnly.key })).statusCode, 200);
      // The child's admin sees the child's projects, not its parent's, and cannot act up there.
      const below = await create(childAdmin, 'Below');
      assert.equal((await as(childAdmin)({ method: 'GET', url: `${PROJECTS}${project.id}/` })).statusCode, 404);
      assert.equal((await as(childAdmin)({ method: 'PATCH', url: `${PROJECTS}${project.id}/`, payload: { name: 'Taken' } })).statusCode, 404);
      assert.equal((await as(childAdmin)({ method: 'GET', url: `${PROJECTS}?org_id=${orgA}` })).statusCode, 404);
      // Nor can it pull the parent's app into its project.
      const parentApp = await newApp(alice, 'proj-parent-app');
      assert.equal((await as(childAdmin)({ method: 'POST', url: `${PROJECTS}${below.id}/members/`, payload: { type: 'app', id: parentApp } })).statusCode, 400);
      // The parent's admin sees the child's project.
      assert.equal((await as(alice)({ method: 'GET', url: `${PROJECTS}${below.id}/` })).statusCode, 200);
      assert.equal(below.organization, child);
    });
  });
}
