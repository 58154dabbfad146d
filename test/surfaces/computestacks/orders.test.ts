import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addUser, type TestUser } from '../../support/identity.ts';
import type { RegisteredApplication } from '../../support/oauth.ts';
import { allowPasswordGrant, apiCredentials, computestacks, errorsOf, oauthClient, passwordGrantToken, type Credential } from './support.ts';

const BUILTIN_IMAGE = '00000000-0000-4000-8000-0000000b0500';
const WEB = 'mkdir -p /tmp/www && echo "$GREETING" > /tmp/www/index.html && exec httpd -f -p "$PORT" -h /tmp/www';

/** The location and the M container product, as a ComputeStacks client finds them. */
async function catalogOf(app: TestApp, credential: Credential): Promise<{ location: string; product: string }> {
  const location = (await computestacks(app, credential, 'GET', '/api/locations')).json().locations[0].id;
  const product = (await computestacks(app, credential, 'GET', '/api/products')).json().products.find((p: { kind: string; name: string }) => p.kind === 'container' && p.name === 'M').id;
  return { location, product };
}

for (const database of testDatabases) {
  // No worker: what an order makes is seen as it is, before provisioning starts.
  describe(`ComputeStacks orders [${database.name}]`, () => {
    let app: TestApp;
    let fay: TestUser; // admin of F
    let pair: { username: string; password: string };
    let viewerPair: { username: string; password: string };
    let otherPair: { username: string; password: string }; // admin of G
    let client: RegisteredApplication;
    let location: string;
    let product: string;

    before(async () => {
      app = await startTestApp(database, { workerConcurrency: 0 });
      fay = await addUser(app, 'cs-fay', { role: 'admin', organization: await addOrganization(app, 'Fay Co') });
      pair = await apiCredentials(app, fay);
      viewerPair = await apiCredentials(app, await addUser(app, 'cs-fay-viewer', { role: 'viewer', token: fay.session }));
      otherPair = await apiCredentials(app, await addUser(app, 'cs-gus', { role: 'admin', organization: await addOrganization(app, 'Gus Co') }));
      client = await oauthClient(app);
      await allowPasswordGrant(app, fay.session);
      ({ location, product } = await catalogOf(app, pair));
    });
    after(() => app.close());

    const order = (overrides: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
      order: {
        project_name: 'Shop',
        location_id: location,
        containers: [{ image_id: BUILTIN_IMAGE, resources: { package_id: product }, command: WEB, params: [{ key: 'GREETING', value: 'hello' }], ...container }],
        ...overrides,
      },
    });
    const counts = async (credential: Credential) => ({
      orders: (await computestacks(app, credential, 'GET', '/api/orders')).headers.total,
      projects: (await computestacks(app, credential, 'GET', '/api/projects')).headers.total,
      services: (await computestacks(app, credential, 'GET', '/api/container_services')).headers.total,
    });

    it('places an order (201 {order}): its project and container service exist at once, and it is open until provisioning starts', async () => {
      const res = await computestacks(app, pair, 'POST', '/api/orders', order({}, { name: 'cs-shop-web' }));
      assert.equal(res.statusCode, 201, res.body);
      const placed = res.json().order;
      assert.equal(placed.status, 'open');
      assert.equal(placed.redirect_url, null);
      assert.equal(placed.project.name, 'Shop');
      assert.deepEqual(placed.failures, []);
      const container = placed.order_data.containers[0];
      assert.deepEqual({ image_id: container.image_id, resources: container.resources, name: container.name, params: container.params }, { image_id: BUILTIN_IMAGE, resources: { package_id: product }, name: 'cs-shop-web', params: [{ key: 'GREETING', value: 'hello' }] });

      const list = await computestacks(app, pair, 'GET', '/api/orders?per_page=10');
      assert.equal(list.statusCode, 200, list.body);
      assert.equal(list.headers.total, '1');
      assert.equal(list.headers['per-page'], '10');
      assert.deepEqual(list.json().orders, [{ id: placed.id, status: 'open', created_at: placed.created_at, updated_at: placed.updated_at, project: placed.project }]);
      const shown = (await computestacks(app, pair, 'GET', `/api/orders/${placed.id}`)).json().order;
      assert.deepEqual(shown.location, { id: location, name: (await computestacks(app, pair, 'GET', '/api/locations')).json().locations[0].name });
      assert.equal(typeof shown.created_at, 'string');

      const services = (await computestacks(app, pair, 'GET', `/api/projects/${placed.project.id}/services`)).json().container_services;
      assert.deepEqual(services.map((s: { id: string; name: string }) => [s.id, s.name]), [[container.container_service_id, 'cs-shop-web']]);
      assert.equal(services[0].package.label, 'M');
    });

    it('takes the older names of the package and image (package_id, product_id, container_image_id)', async () => {
      for (const [i, container] of [{ package_id: product }, { product_id: product }, { resources: { product_id: product } }].entries()) {
        const res = await computestacks(app, pair, 'POST', '/api/orders', { order: { project_name: `Older ${i}`, location_id: location, containers: [{ container_image_id: BUILTIN_IMAGE, command: WEB, ...container }] } });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.json().order.order_data.containers[0].resources.package_id, product);
      }
    });

    it("orders a container image: its image, command and variables unless the order gives its own, and its minimums bound the package", async () => {
      const image = async (fields: Record<string, unknown>) => {
        const res = await computestacks(app, pair, 'POST', '/api/container_images', { container_image: { label: 'Greeter', image_id: BUILTIN_IMAGE, command: WEB, env_params_attributes: [{ name: 'GREETING', param_type: 'static', static_value: 'from the image' }, { name: 'COLOUR', param_type: 'static', static_value: 'blue' }], ...fields } });
        assert.equal(res.statusCode, 201, res.body);
        return res.json().container_image.id as string;
      };
      const greeter = await image({ min_cpu: '0.5', min_memory: 256 });
      const res = await computestacks(app, pair, 'POST', '/api/orders', { order: { project_name: 'From an image', location_id: location, containers: [{ image_id: greeter, resources: { package_id: product }, params: [{ key: 'GREETING', value: 'from the order' }] }] } });
      assert.equal(res.statusCode, 201, res.body);
      const [container] = res.json().order.order_data.containers;
      assert.equal(container.image_id, greeter);
      assert.equal(container.command, WEB);
      const variables = (await app.request({ method: 'GET', url: `/api/apps/apps/${container.container_service_id}/variables/`, token: fay.session })).json().variables;
      assert.deepEqual(variables.map((v: { name: string; value: string }) => [v.name, v.value]).sort(), [['COLOUR', 'blue'], ['GREETING', 'from the order']]);

      const before = await counts(pair);
      const big = await image({ min_memory: 1024 });
      const tooSmall = errorsOf(await computestacks(app, pair, 'POST', '/api/orders', order({}, { image_id: big })), 422);
      assert.ok(tooSmall.some((m) => /^containers\[0\]\.resources\.package_id: The image needs at least/.test(m)), JSON.stringify(tooSmall));
      const inactive = await image({ active: false });
      assert.ok(errorsOf(await computestacks(app, pair, 'POST', '/api/orders', order({}, { image_id: inactive })), 422).some((m) => /^containers\[0\]\.image_id: .*not active/.test(m)));
      const commandless = await image({ command: '' });
      assert.ok(errorsOf(await computestacks(app, pair, 'POST', '/api/orders', order({}, { image_id: commandless, command: undefined })), 422).some((m) => /^containers\[0\]\.command: /.test(m)));
      const theirs = (await computestacks(app, otherPair, 'POST', '/api/container_images', { container_image: { label: 'Theirs', image_id: BUILTIN_IMAGE, command: WEB } })).json().container_image.id;
      assert.ok(errorsOf(await computestacks(app, pair, 'POST', '/api/orders', order({}, { image_id: theirs })), 422).some((m) => /^containers\[0\]\.image_id: /.test(m)));
      assert.deepEqual(await counts(pair), before);
    });

    it("refuses bad input with a 422 {errors} naming ComputeStacks' fields, and makes nothing", async () => {
      const before = await counts(pair);
      const cases: [unknown, RegExp][] = [
        [{ project_name: 'x' }, /^param is missing or the value is empty: order$/],
        [order({ project_name: '' }), /^project_name: /],
        [order({ location_id: '00000000-0000-4000-8000-000000000000' }), /^location_id: /],
        [order({ containers: [] }), /^containers: /],
        [order({ containers: 'web' }), /^containers: /],
        [order({ containers: ['web'] }), /^containers\[0\]: /],
        [order({}, { image_id: '00000000-0000-4000-8000-000000000000' }), /^containers\[0\]\.image_id: /],
        [order({}, { resources: { package_id: '00000000-0000-4000-8000-0000000a0001' } }), /^containers\[0\]\.resources\.package_id: /],
        [order({}, { command: ' ' }), /^containers\[0\]\.command: /],
        [order({}, { params: [{ key: 'PORT', value: '1' }] }), /^containers\[0\]\.params\[0\]\.key: /],
        [order({}, { name: 'Bad Name' }), /^containers\[0\]\.name: /],
        [order({}, { volumes: [{ csrn: 'x', action: 'create' }] }), /^containers\[0\]\.volumes: is not supported/],
        [order({ project_id: 5 }), /^project_id: is not supported/],
      ];
      for (const [payload, message] of cases) {
        const messages = errorsOf(await computestacks(app, pair, 'POST', '/api/orders', payload), 422);
        assert.ok(messages.some((m) => message.test(m)), `${message}: ${JSON.stringify(messages)}`);
      }
      assert.deepEqual(await counts(pair), before);
    });

    it("answers 404 for another organization's order and never lists it", async () => {
      const theirs = (await computestacks(app, otherPair, 'POST', '/api/orders', order({ project_name: 'Theirs' }))).json().order;
      assert.ok(theirs.id);
      errorsOf(await computestacks(app, pair, 'GET', `/api/orders/${theirs.id}`), 404);
      errorsOf(await computestacks(app, pair, 'GET', '/api/orders/not-an-id'), 404);
      assert.ok(!(await computestacks(app, pair, 'GET', '/api/orders?per_page=100')).json().orders.some((o: { id: string }) => o.id === theirs.id));
      errorsOf(await computestacks(app, pair, 'GET', `/api/projects/${theirs.project.id}`), 404);
    });

    it('enforces order_read and order_write, and the rights an order uses: viewers read, tokens need project_write and images_read too', async () => {
      const before = await counts(pair);
      errorsOf(await computestacks(app, viewerPair, 'POST', '/api/orders', order()), 403);
      assert.equal((await computestacks(app, viewerPair, 'GET', '/api/orders')).statusCode, 200);
      const dnsOnly = await passwordGrantToken(app, client, pair, 'dns_read');
      errorsOf(await computestacks(app, dnsOnly, 'GET', '/api/orders'), 403);
      const readOnly = await passwordGrantToken(app, client, pair, 'order_read');
      assert.equal((await computestacks(app, readOnly, 'GET', '/api/orders')).statusCode, 200);
      errorsOf(await computestacks(app, readOnly, 'POST', '/api/orders', order()), 403);
      // order_write alone cannot make the project and services an order is.
      const orderWrite = await passwordGrantToken(app, client, pair, 'order_write');
      errorsOf(await computestacks(app, orderWrite, 'POST', '/api/orders', order()), 403);
      const projectWrite = await passwordGrantToken(app, client, pair, 'project_write');
      errorsOf(await computestacks(app, projectWrite, 'POST', '/api/orders', order()), 403);
      const noImages = await passwordGrantToken(app, client, pair, 'order_write project_write');
      errorsOf(await computestacks(app, noImages, 'POST', '/api/orders', order()), 403);
      assert.deepEqual(await counts(pair), before);
      const all = await passwordGrantToken(app, client, pair, 'order_write project_write images_read');
      const placed = await computestacks(app, all, 'POST', '/api/orders', order({ project_name: 'By token' }));
      assert.equal(placed.statusCode, 201, placed.body);
    });

    it('shows an order cancelled (on the native API) as cancelled', async () => {
      const placed = (await computestacks(app, pair, 'POST', '/api/orders', order({ project_name: 'Cancelled' }))).json().order;
      const cancelled = await app.request({ method: 'POST', url: `/api/orders/orders/${placed.id}/cancel/`, token: fay.session });
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      assert.equal((await computestacks(app, pair, 'GET', `/api/orders/${placed.id}`)).json().order.status, 'cancelled');
    });
  });

  // A worker but no compute: provisioning fails, and the order says which container failed and why.
  describe(`ComputeStacks orders that fail [${database.name}]`, () => {
    let app: TestApp;
    let pair: { username: string; password: string };
    before(async () => {
      app = await startTestApp(database);
      pair = await apiCredentials(app);
    });
    after(() => app.close());

    it('is failed, each failure naming its container service and the reason', async () => {
      const { location, product } = await catalogOf(app, pair);
      const res = await computestacks(app, pair, 'POST', '/api/orders', { order: { project_name: 'No compute', location_id: location, containers: [{ image_id: BUILTIN_IMAGE, resources: { package_id: product }, command: WEB }] } });
      assert.equal(res.statusCode, 201, res.body);
      const failed = await eventually('the order to fail', async () => {
        const shown = (await computestacks(app, pair, 'GET', `/api/orders/${res.json().order.id}`)).json().order;
        return shown.status === 'failed' ? shown : undefined;
      });
      assert.equal(failed.failures.length, 1);
      assert.equal(failed.failures[0].container, 0);
      assert.equal(failed.failures[0].container_service_id, failed.order_data.containers[0].container_service_id);
      assert.match(failed.failures[0].reason, /Compute is not configured/);
      assert.equal((await computestacks(app, pair, 'GET', '/api/orders')).json().orders[0].status, 'failed');
    });
  });
}
