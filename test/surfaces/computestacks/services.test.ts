import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addUser, type TestUser } from '../../support/identity.ts';
import { viaRouter } from '../../support/router.ts';
import { sampleArchive } from '../../support/sample-app.ts';
import { apiCredentials, computestacks, errorsOf } from './support.ts';

const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`ComputeStacks container services on real containers [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let gina: TestUser;
    let pair: { username: string; password: string };
    let serviceId: string;
    let projectId: string;
    const host = 'cs-shop.apps.localhost';

    before(async () => {
      app = await startComputeTestApp(database);
      gina = await addUser(app, 'gina', { role: 'admin', organization: await addOrganization(app, 'Gina Co') });
      pair = await apiCredentials(app, gina);
      projectId = (await app.request({ method: 'POST', url: '/api/projects/projects/', token: gina.session, payload: { name: 'Shop' } })).json().id;
      serviceId = (await app.request({ method: 'POST', url: '/api/apps/apps/', token: gina.session, payload: { name: 'cs-shop' } })).json().id;
      await app.request({ method: 'POST', url: `/api/projects/projects/${projectId}/members/`, token: gina.session, payload: { type: 'app', id: serviceId } });
      const deployed = await app.request({ method: 'POST', url: '/api/apps/apps/cs-shop/deployments/', token: gina.session, payload: await sampleArchive({ version: 'v1' }), headers: { 'content-type': 'application/gzip' } });
      assert.equal(deployed.statusCode, 202, deployed.body);
      const wait = await app.request({ method: 'GET', url: `/api/tasks/tasks/${deployed.json().task}/wait/?timeout=180`, token: gina.session });
      assert.equal(wait.json().status, 'succeeded', JSON.stringify(wait.json().error));
    });
    after(() => app?.close());

    const service = async () => (await computestacks(app, pair, 'GET', `/api/container_services/${serviceId}`)).json().container_service;
    const containers = async () => (await computestacks(app, pair, 'GET', `/api/container_services/${serviceId}/containers`)).json().containers as { id: string; name: string; current_state: string }[];
    const onlineCount = (n: number) => eventually(`${n} containers online`, async () => {
      const now = await containers();
      return now.length === n && now.every((c) => c.current_state === 'online') ? now : undefined;
    }, 120_000);
    const serving = () => eventually('the service answering through the router', async () => {
      const answer = await viaRouter(app, host);
      return answer.status === 200 ? JSON.parse(answer.body) as { version: string } : undefined;
    }, 60_000);

    it('shows the running service, its package and containers, and it answers HTTP through the router', async () => {
      const shown = await service();
      assert.equal(shown.current_state, 'online');
      assert.equal(shown.default_domain, host);
      assert.deepEqual({ label: shown.package.label, memory: shown.package.memory, qty: shown.package.qty }, { label: 'M', memory: 512, qty: 1 });
      const [only] = await onlineCount(1);
      assert.equal(only!.name, 'cs-shop-web-1');
      const container = (await computestacks(app, pair, 'GET', `/api/containers/${only!.id}`)).json().container;
      assert.equal(container.container_service_id, serviceId);
      assert.match(container.local_ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal((await serving()).version, 'v1');
      const inProject = (await computestacks(app, pair, 'GET', `/api/projects/${projectId}/containers`)).json().containers;
      assert.deepEqual(inProject.map((c: { id: string; project_id: string }) => [c.id, c.project_id]), [[only!.id, projectId]]);
      assert.equal((await computestacks(app, pair, 'GET', `/api/projects/${projectId}`)).json().project.current_state, 'ok');
    });

    it('scales by qty (202 {}), and powers off, on and restarts (202 {}) with the router following', async () => {
      const scaled = await computestacks(app, pair, 'POST', `/api/container_services/${serviceId}/scale`, { container_service: { qty: 2 } });
      assert.equal(scaled.statusCode, 202, scaled.body);
      assert.deepEqual(scaled.json(), {});
      await onlineCount(2);
      assert.equal((await service()).deployed_containers, 2);

      const off = await computestacks(app, pair, 'PUT', `/api/container_services/${serviceId}/power/stop`);
      assert.equal(off.statusCode, 202, off.body);
      await eventually('no container left', async () => ((await containers()).length === 0 ? true : undefined), 120_000);
      await eventually('the router answering 503 while powered off', async () => ((await viaRouter(app, host)).status === 503 ? true : undefined), 30_000);
      assert.equal((await computestacks(app, pair, 'PUT', `/api/container_services/${serviceId}/power/stop`)).statusCode, 202);

      const on = await computestacks(app, pair, 'POST', `/api/container_services/${serviceId}/power/start`);
      assert.equal(on.statusCode, 202, on.body);
      const [first] = await onlineCount(2);
      assert.equal((await serving()).version, 'v1');

      const restarted = await computestacks(app, pair, 'PATCH', `/api/container_services/${serviceId}/power/restart`);
      assert.equal(restarted.statusCode, 202, restarted.body);
      await eventually('new containers after the restart', async () => {
        const now = await containers();
        return now.length === 2 && now.every((c) => c.current_state === 'online' && c.id !== first!.id) ? now : undefined;
      }, 120_000);
      assert.equal((await serving()).version, 'v1');
    });

    it("reads the service's logs and a container's as [time, container, line]", async () => {
      const logs = await eventually('the server logging', async () => {
        const lines = (await computestacks(app, pair, 'GET', `/api/container_services/${serviceId}/logs?limit=50`)).json() as [number, string, string][];
        return lines.some(([, , line]) => /listening on/.test(line)) ? lines : undefined;
      });
      const [time, name] = logs.find(([, , line]) => /listening on/.test(line))!;
      assert.equal(typeof time, 'number');
      assert.match(name, /^cs-shop-web-\d+$/);
      const [container] = await containers();
      const own = await eventually('the container logging', async () => {
        const lines = (await computestacks(app, pair, 'GET', `/api/containers/${container!.id}/logs`)).json() as [number, string, string][];
        return lines.length ? lines : undefined;
      });
      assert.ok(own.every(([, source]) => source === container!.name), JSON.stringify(own));
      errorsOf(await computestacks(app, pair, 'GET', `/api/container_services/${serviceId}/logs?limit=x`), 422);
    });

    it("keeps another organization's containers and logs to itself (404)", async () => {
      const stranger = await addUser(app, 'cs-stranger', { role: 'admin', organization: await addOrganization(app, 'Stranger Co') });
      const theirs = await apiCredentials(app, stranger);
      const [container] = await containers();
      for (const path of [`/api/containers/${container!.id}`, `/api/containers/${container!.id}/logs`, `/api/container_services/${serviceId}/logs`, `/api/container_services/${serviceId}/containers`]) {
        errorsOf(await computestacks(app, theirs, 'GET', path), 404);
      }
    });

    it('deletes the service with 202 {}: its containers go, then the service itself', async () => {
      const removed = await computestacks(app, pair, 'DELETE', `/api/container_services/${serviceId}`);
      assert.equal(removed.statusCode, 202, removed.body);
      assert.deepEqual(removed.json(), {});
      await eventually('the service gone', async () => ((await computestacks(app, pair, 'GET', `/api/container_services/${serviceId}`)).statusCode === 404 ? true : undefined), 120_000);
    });
  });
}
