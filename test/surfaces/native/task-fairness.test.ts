import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../../support/databases.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addUser } from '../../support/identity.ts';
import { createTestTables, registerTestHandlers } from '../../support/test-handlers.ts';

const TASKS = '/api/tasks/tasks/';
/** Four slots: a tenant may hold two of them (half, the default share). */
const CONCURRENCY = 4;

for (const database of testDatabases) {
  describe(`fair task claiming between tenants [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database, {
        workerConcurrency: CONCURRENCY,
        configure: async (nimbus) => {
          await createTestTables(nimbus.store.db);
          registerTestHandlers(nimbus.services.taskHandlers, nimbus.store.db);
        },
      });
    });
    after(() => app.close());

    const enqueue = async (body: object, token?: string, orgId?: string) => {
      const res = await app.request({ method: 'POST', url: `${TASKS}${orgId ? `?org_id=${orgId}` : ''}`, payload: body, token });
      assert.equal(res.statusCode, 202, res.body);
      return res.json().id as string;
    };
    const statusOf = async (id: string) => (await app.request({ method: 'GET', url: `${TASKS}${id}/` })).json().status as string;

    it('leaves room for other tenants while one floods the worker, sub-organizations included', async () => {
      const greedyTenant = await addOrganization(app, 'Greedy');
      const greedy = (await addUser(app, 'fair-greedy', { role: 'admin', organization: greedyTenant })).session;
      const greedySub = await addOrganization(app, 'Greedy sub', { token: greedy });
      const otherTenant = await addOrganization(app, 'Patient');
      const other = (await addUser(app, 'fair-patient', { role: 'admin', organization: otherTenant })).session;

      // Long tasks, more than every slot, half of them from a sub-organization of the same tenant.
      const flood: string[] = [];
      for (let i = 0; i < 2 * CONCURRENCY; i++) flood.push(await enqueue({ type: 'test.sleep', input: { ms: 60_000 } }, greedy, i % 2 ? greedySub : undefined));
      const running = async () => (await Promise.all(flood.map(statusOf))).filter((s) => s === 'running').length;
      await eventually('the flood to take its share', async () => ((await running()) === CONCURRENCY / 2 ? true : undefined), 10_000);

      // Another tenant's task, and the root organization's, run at once.
      const patient = await enqueue({ type: 'test.sleep', input: { ms: 10 } }, other);
      const rootTask = await enqueue({ type: 'noop' });
      for (const id of [patient, rootTask]) {
        const done = await app.request({ method: 'GET', url: `${TASKS}${id}/wait/?timeout=10` });
        assert.equal(done.json().status, 'succeeded', done.body);
      }
      assert.equal(await running(), CONCURRENCY / 2, 'the flooding tenant never held more than its share');

      for (const id of flood) await app.request({ method: 'POST', url: `${TASKS}${id}/cancel/` });
      await eventually('the flood to end', async () => ((await Promise.all(flood.map(statusOf))).every((s) => s === 'cancelled') ? true : undefined), 20_000);
    });
  });
}
