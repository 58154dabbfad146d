import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { eventually } from '../../../support/eventually.ts';
import { viaRouter } from '../../../support/router.ts';

const ORDERS = '/api/orders/orders/';
const BUILTIN_IMAGE = '00000000-0000-4000-8000-0000000b0500';
const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`an order followed to completion, on real containers [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    before(async () => {
      app = await startComputeTestApp(database);
    });
    after(async () => {
      await app?.close();
    });

    it('provisions a project whose container service, running the built-in image, answers HTTP through the apps router', async () => {
      const location = (await app.request({ method: 'GET', url: '/api/catalog/locations/' })).json().results[0].id;
      const packageS = (await app.request({ method: 'GET', url: '/api/catalog/packages/?kind=container' })).json().results.find((p: { name: string }) => p.name === 'S').id;
      const res = await app.request({
        method: 'POST',
        url: ORDERS,
        payload: {
          project_name: 'Greeter',
          location_id: location,
          containers: [{
            image_id: BUILTIN_IMAGE,
            package_id: packageS,
            name: 'order-greeter',
            // busybox's own httpd, from the image's root filesystem: nothing of the apps stack.
            command: 'mkdir -p /tmp/www && echo "$GREETING from $(cat /etc/os-release | head -1)" > /tmp/www/index.html && exec httpd -f -p "$PORT" -h /tmp/www',
            params: [{ key: 'GREETING', value: 'hello from an order' }],
          }],
        },
      });
      assert.equal(res.statusCode, 201, res.body);
      const completed = await eventually('the order to complete', async () => {
        const order = (await app.request({ method: 'GET', url: `${ORDERS}${res.json().id}/` })).json();
        assert.notEqual(order.status, 'failed', JSON.stringify(order.failures));
        return order.status === 'completed' ? order : undefined;
      }, 150_000);
      assert.equal(completed.containers[0].deployment.status, 'success');
      const project = (await app.request({ method: 'GET', url: `/api/projects/projects/${completed.project.id}/` })).json();
      assert.equal(project.state, 'active');
      const answer = await eventually('the router to serve the app', async () => {
        const got = await viaRouter(app, 'order-greeter.apps.localhost');
        return got.status === 200 ? got : undefined;
      });
      assert.equal(answer.body.trim(), 'hello from an order from NAME="Nimbus BusyBox"');
    });

    it('takes the container service down with its project (cascade)', async () => {
      const project = (await app.request({ method: 'GET', url: '/api/projects/projects/?name=Greeter' })).json().results[0];
      assert.equal((await app.request({ method: 'DELETE', url: `/api/projects/projects/${project.id}/` })).statusCode, 409);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/projects/projects/${project.id}/?cascade=true` })).statusCode, 204);
      await eventually('the app to be deleted', async () => ((await app.request({ method: 'GET', url: '/api/apps/apps/order-greeter/' })).statusCode === 404 ? true : undefined), 60_000);
      const gone = await eventually('the router to forget the app', async () => {
        const got = await viaRouter(app, 'order-greeter.apps.localhost');
        return got.status === 404 ? got : undefined;
      });
      assert.equal(gone.status, 404);
    });
  });
}
