import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../../support/identity.ts';

const TEMPLATES = '/api/images/templates/';
const BUILTIN_IMAGE = '00000000-0000-4000-8000-0000000b0500';

for (const database of testDatabases) {
  describe(`image templates [${database.name}]`, () => {
    let app: TestApp;
    let ann: TestUser;
    let viewer: TestUser;
    let ben: TestUser;
    before(async () => {
      app = await startTestApp(database);
      ann = await addUser(app, 'tpl-ann', { role: 'admin', organization: await addOrganization(app, 'Templates A') });
      viewer = await addUser(app, 'tpl-viewer', { role: 'viewer', token: ann.session });
      ben = await addUser(app, 'tpl-ben', { role: 'admin', organization: await addOrganization(app, 'Templates B') });
    });
    after(() => app.close());

    const as = (user: TestUser) => (options: Parameters<TestApp['request']>[0]) => app.request({ token: user.session, ...options });

    it('creates, lists, changes (If-Match) and deletes a template', async () => {
      const res = await as(ann)({ method: 'POST', url: TEMPLATES, payload: { name: 'Web', image: BUILTIN_IMAGE, command: 'exec httpd -f -p "$PORT"', min_cpu_millis: 500, min_memory: 128 * 1024 * 1024, variables: [{ name: 'GREETING', value: 'hi' }] } });
      assert.equal(res.statusCode, 201, res.body);
      const created = res.json();
      assert.match(res.headers.location as string, new RegExp(`${TEMPLATES}${created.id}/$`));
      assert.deepEqual({ role_class: created.role_class, tag: created.registry_tag, active: created.active, revision: created.revision }, { role_class: 'web', tag: 'latest', active: true, revision: 1 });
      assert.equal((await as(ann)({ method: 'GET', url: TEMPLATES })).json().count, 1);
      const stale = await as(ann)({ method: 'PATCH', url: `${TEMPLATES}${created.id}/`, payload: { name: 'Web 2' }, headers: { 'if-match': '"nope"' } });
      assert.equal(stale.statusCode, 412, stale.body);
      const changed = await as(ann)({ method: 'PATCH', url: `${TEMPLATES}${created.id}/`, payload: { name: 'Web 2', active: false } });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual({ name: changed.json().name, active: changed.json().active, revision: changed.json().revision }, { name: 'Web 2', active: false, revision: 2 });
      assert.equal((await as(ann)({ method: 'DELETE', url: `${TEMPLATES}${created.id}/` })).statusCode, 204);
      assert.equal((await as(ann)({ method: 'GET', url: `${TEMPLATES}${created.id}/` })).statusCode, 404);
    });

    it('refuses bad input with field errors in native names, and makes nothing', async () => {
      const cases: [object, string][] = [
        [{ name: ' ', image: BUILTIN_IMAGE }, 'name'],
        [{ name: 'x', image: '00000000-0000-4000-8000-000000000000' }, 'image'],
        [{ name: 'x', image: BUILTIN_IMAGE, min_memory: 2 * 1024 ** 4 }, 'min_memory'],
        [{ name: 'x', image: BUILTIN_IMAGE, role_class: 'robot' }, 'role_class'],
        [{ name: 'x', image: BUILTIN_IMAGE, variables: [{ name: 'PORT', value: '1' }] }, 'variables[0].name'],
      ];
      for (const [payload, field] of cases) {
        const res = await as(ann)({ method: 'POST', url: TEMPLATES, payload });
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        assert.ok(res.json()[field], `${field}: ${res.body}`);
      }
      assert.equal((await as(ann)({ method: 'GET', url: TEMPLATES })).json().count, 0);
    });

    it("keeps another organization's templates to itself, and lets viewers and narrow tokens only read", async () => {
      const theirs = (await as(ben)({ method: 'POST', url: TEMPLATES, payload: { name: 'Theirs', image: BUILTIN_IMAGE } })).json();
      for (const method of ['GET', 'DELETE'] as const) assert.equal((await as(ann)({ method, url: `${TEMPLATES}${theirs.id}/` })).statusCode, 404);
      assert.equal((await as(ann)({ method: 'PATCH', url: `${TEMPLATES}${theirs.id}/`, payload: { name: 'Mine' } })).statusCode, 404);
      assert.equal((await as(ann)({ method: 'GET', url: TEMPLATES })).json().count, 0);
      assert.equal((await as(viewer)({ method: 'POST', url: TEMPLATES, payload: { name: 'Viewer', image: BUILTIN_IMAGE } })).statusCode, 403);
      assert.equal((await as(viewer)({ method: 'GET', url: TEMPLATES })).statusCode, 200);
      const readOnly = await addToken(app, ann.session, ['image:read']);
      assert.equal((await app.request({ method: 'POST', url: TEMPLATES, token: readOnly.key, payload: { name: 'Token', image: BUILTIN_IMAGE } })).statusCode, 403);
      assert.equal((await as(ben)({ method: 'GET', url: `${TEMPLATES}${theirs.id}/` })).json().name, 'Theirs');
    });
  });
}
