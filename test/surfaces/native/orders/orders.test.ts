import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { testDatabases } from '../../../support/databases.ts';
import { eventually } from '../../../support/eventually.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../../support/identity.ts';

const ORDERS = '/api/orders/orders/';
const BUILTIN_IMAGE = '00000000-0000-4000-8000-0000000b0500';
const WEB = 'mkdir -p /tmp/www && echo "$GREETING" > /tmp/www/index.html && exec httpd -f -p "$PORT" -h /tmp/www';

for (const database of testDatabases) {
  // No worker: deployments stay queued, so what an order makes and how it is cancelled are seen as they are.
  describe(`orders [${database.name}]`, () => {
    let app: TestApp;
    let orgA: string;
    let alice: TestUser; // admin of A
    let member: TestUser;
    let viewer: TestUser;
    let childAdmin: TestUser; // admin of A's sub-organization
    let bob: TestUser; // admin of B
    let location: string;
    let packageM: string;
    before(async () => {
      app = await startTestApp(database, { workerConcurrency: 0 });
      orgA = await addOrganization(app, 'Orders A');
      alice = await addUser(app, 'order-alice', { role: 'admin', organization: orgA });
      member = await addUser(app, 'order-member', { role: 'member', token: alice.session });
      viewer = await addUser(app, 'order-viewer', { role: 'viewer', token: alice.session });
      childAdmin = await addUser(app, 'order-child-admin', { role: 'admin', organization: await addOrganization(app, 'Orders A child', { token: alice.session }), token: alice.session });
      bob = await addUser(app, 'order-bob', { role: 'admin', organization: await addOrganization(app, 'Orders B') });
      location = (await app.request({ method: 'GET', url: '/api/catalog/locations/' })).json().results[0].id;
      packageM = (await app.request({ method: 'GET', url: '/api/catalog/packages/?kind=container' })).json().results.find((p: { name: string }) => p.name === 'M').id;
    });
    after(() => app.close());

    const as = (user: TestUser) => (options: Parameters<TestApp['request']>[0]) => app.request({ token: user.session, ...options });
    const body = (overrides: object = {}) => ({
      project_name: 'Shop',
      location_id: location,
      containers: [{ image_id: BUILTIN_IMAGE, package_id: packageM, command: WEB, params: [{ key: 'GREETING', value: 'hello' }] }],
      ...overrides,
    });
    const counts = async (user: TestUser) => ({
      orders: (await as(user)({ method: 'GET', url: ORDERS })).json().count,
      projects: (await as(user)({ method: 'GET', url: '/api/projects/projects/' })).json().count,
      apps: (await as(user)({ method: 'GET', url: '/api/apps/apps/' })).json().count,
      tasks: (await as(user)({ method: 'GET', url: '/api/tasks/tasks/' })).json().count,
    });

    it('makes the project, its apps with their variables and size, and queued deployments, in one go', async () => {
      const res = await as(member)({ method: 'POST', url: ORDERS, payload: body({ containers: [body().containers[0], { image_id: BUILTIN_IMAGE, package_id: packageM, command: WEB, name: 'shop-second' }] }) });
      assert.equal(res.statusCode, 201, res.body);
      const order = res.json();
      assert.equal(order.status, 'open');
      assert.deepEqual(order.failures, []);
      assert.equal(res.headers.location, `http://localhost:80${ORDERS}${order.id}/`);
      assert.equal(order.containers.length, 2);
      assert.match(order.containers[0].app.name, /^shop-1-[0-9a-f]{6}$/);
      assert.equal(order.containers[1].app.name, 'shop-second');
      assert.equal(order.containers[0].deployment.status, 'queued');
      const project = (await as(member)({ method: 'GET', url: `/api/projects/projects/${order.project.id}/` })).json();
      assert.equal(project.name, 'Shop');
      assert.deepEqual(project.members.map((m: { id: string }) => m.id).sort(), order.containers.map((c: { app: { id: string } }) => c.app.id).sort());
      const appId = order.containers[0].app.id;
      const variables = (await as(member)({ method: 'GET', url: `/api/apps/apps/${appId}/variables/` })).json();
      assert.deepEqual(variables.variables.map((v: { name: string; value: string }) => [v.name, v.value]), [['GREETING', 'hello']]);
      const formation = (await as(member)({ method: 'GET', url: `/api/apps/apps/${appId}/formation/` })).json();
      assert.deepEqual(formation.containers.map((f: { name: string; amount: number; size: string }) => [f.name, f.amount, f.size]), [['web', 1, 'M']]);
      assert.equal((await as(member)({ method: 'GET', url: `${ORDERS}${order.id}/` })).json().id, order.id);
      assert.equal((await as(member)({ method: 'GET', url: `${ORDERS}?project=${order.project.id}` })).json().count, 1);
    });

    it('refuses bad input with field errors, and makes nothing', async () => {
      const before = await counts(alice);
      const cases: [object, string][] = [
        [body({ project_name: '' }), 'project_name'],
        [body({ location_id: '00000000-0000-4000-8000-000000000000' }), 'location_id'],
        [body({ containers: [] }), 'containers'],
        [body({ containers: [{ image_id: '00000000-0000-4000-8000-000000000000', package_id: packageM, command: WEB }] }), 'containers[0].image_id'],
        [body({ containers: [{ image_id: BUILTIN_IMAGE, package_id: '00000000-0000-4000-8000-0000000a0001', command: WEB }] }), 'containers[0].package_id'],
        [body({ containers: [{ image_id: BUILTIN_IMAGE, package_id: packageM, command: '  ' }] }), 'containers[0].command'],
        [body({ containers: [{ image_id: BUILTIN_IMAGE, package_id: packageM, command: WEB, params: [{ key: 'PORT', value: '1' }] }] }), 'containers[0].params[0].key'],
        [body({ containers: [{ image_id: BUILTIN_IMAGE, package_id: packageM, command: WEB, params: [{ key: '1BAD', value: 'x' }] }] }), 'containers[0].params[0].key'],
        [body({ containers: [{ image_id: BUILTIN_IMAGE, package_id: packageM, command: WEB, name: 'Bad Name' }] }), 'containers[0].name'],
        [body({ containers: Array.from({ length: 11 }, () => body().containers[0]) }), 'containers'],
      ];
      for (const [payload, field] of cases) {
        const res = await as(alice)({ method: 'POST', url: ORDERS, payload });
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        assert.ok(res.json()[field], `${field}: ${res.body}`);
      }
      // A taken app name fails the whole order, after the first container was already made in its transaction.
      const taken = await as(alice)({ method: 'POST', url: ORDERS, payload: body({ containers: [body().containers[0], { ...body().containers[0], name: 'shop-second' }] }) });
      assert.equal(taken.statusCode, 400, taken.body);
      assert.deepEqual(taken.json(), { 'containers[1].name': ['is already taken'] });
      assert.deepEqual(await counts(alice), before);
    });

    it('cancels an order whose provisioning has not started: its tasks, apps and project go', async () => {
      const order = (await as(alice)({ method: 'POST', url: ORDERS, payload: body({ project_name: 'Cancelled' }) })).json();
      const res = await as(alice)({ method: 'POST', url: `${ORDERS}${order.id}/cancel/` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'cancelled');
      assert.equal((await as(alice)({ method: 'GET', url: `/api/projects/projects/${order.project.id}/` })).statusCode, 404);
      const appNow = await as(alice)({ method: 'GET', url: `/api/apps/apps/${order.containers[0].app.id}/` });
      assert.ok(appNow.statusCode === 404 || appNow.json().status === 'deleting', appNow.body);
      const tasks = (await as(alice)({ method: 'GET', url: `/api/tasks/tasks/?resource=app:${order.containers[0].app.id}&type=app.deploy` })).json().results;
      assert.deepEqual(tasks.map((t: { status: string }) => t.status), ['cancelled']);
      const again = await as(alice)({ method: 'POST', url: `${ORDERS}${order.id}/cancel/` });
      assert.equal(again.statusCode, 409, again.body);
    });

    it("answers 404 for another organization's order, and never lists it", async () => {
      const theirs = (await as(bob)({ method: 'POST', url: ORDERS, payload: body({ project_name: 'Theirs' }) })).json();
      assert.ok(theirs.id);
      assert.equal((await as(alice)({ method: 'GET', url: `${ORDERS}${theirs.id}/` })).statusCode, 404);
      assert.equal((await as(alice)({ method: 'POST', url: `${ORDERS}${theirs.id}/cancel/` })).statusCode, 404);
      assert.ok(!(await as(alice)({ method: 'GET', url: `${ORDERS}?page_size=100` })).json().results.some((o: { id: string }) => o.id === theirs.id));
      assert.equal((await as(bob)({ method: 'GET', url: `${ORDERS}${theirs.id}/` })).json().status, 'open');
      // Bob's own image is not Alice's to order.
      const bobImage = '00000000-0000-4000-8000-000000000001';
      assert.equal((await as(alice)({ method: 'POST', url: ORDERS, payload: body({ containers: [{ image_id: bobImage, package_id: packageM, command: WEB }] }) })).statusCode, 400);
    });

    it('lets members order and viewers only read; scopes and sub-organizations bound who may order what', async () => {
      const before = await counts(alice);
      assert.equal((await as(viewer)({ method: 'POST', url: ORDERS, payload: body() })).statusCode, 403);
      assert.equal((await as(viewer)({ method: 'GET', url: ORDERS })).statusCode, 200);
      // An order makes a project and apps: order:write alone is not enough.
      const orderOnly = await addToken(app, alice.session, ['order:read', 'order:write', 'image:read', 'public:read']);
      assert.equal((await app.request({ method: 'POST', url: ORDERS, payload: body(), token: orderOnly.key })).statusCode, 403);
      const readOnly = await addToken(app, alice.session, ['order:read']);
      assert.equal((await app.request({ method: 'POST', url: ORDERS, payload: body(), token: readOnly.key })).statusCode, 403);
      assert.deepEqual(await counts(alice), before);
      // A sub-organization's admin orders in its own organization, never in the parent's.
      assert.equal((await as(childAdmin)({ method: 'POST', url: `${ORDERS}?org_id=${orgA}`, payload: body() })).statusCode, 404);
      const own = await as(childAdmin)({ method: 'POST', url: ORDERS, payload: body({ project_name: 'Below' }) });
      assert.equal(own.statusCode, 201, own.body);
      const parentOrders = (await as(alice)({ method: 'GET', url: ORDERS })).json().results.map((o: { id: string }) => o.id);
      assert.ok(parentOrders.includes(own.json().id), 'the parent sees its sub-organization\'s orders');
      const childOrders = (await as(childAdmin)({ method: 'GET', url: ORDERS })).json().results;
      assert.deepEqual(childOrders.map((o: { id: string }) => o.id), [own.json().id]);
    });
  });

  // With a worker but no compute: the deployments fail, and the order says which container failed and why.
  describe(`orders that fail [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    it('is failed with the reason of each container', async () => {
      const location = (await app.request({ method: 'GET', url: '/api/catalog/locations/' })).json().results[0].id;
      const packageS = (await app.request({ method: 'GET', url: '/api/catalog/packages/?kind=container' })).json().results[0].id;
      const res = await app.request({ method: 'POST', url: ORDERS, payload: { project_name: 'No compute', location_id: location, containers: [{ image_id: BUILTIN_IMAGE, package_id: packageS, command: WEB }] } });
      assert.equal(res.statusCode, 201, res.body);
      const failed = await eventually('the order to fail', async () => {
        const order = (await app.request({ method: 'GET', url: `${ORDERS}${res.json().id}/` })).json();
        return order.status === 'failed' ? order : undefined;
      });
      assert.equal(failed.failures.length, 1);
      assert.equal(failed.failures[0].container, 0);
      assert.equal(failed.failures[0].app, failed.containers[0].app.name);
      assert.match(failed.failures[0].reason, /Compute is not configured/);
    });
  });
}
