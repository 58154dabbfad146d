import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId } from '../../../src/core/clock.ts';
import { testDatabases } from '../../support/databases.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { eventually } from '../../support/eventually.ts';
import { addUser } from '../../support/identity.ts';
import { createTestTables, executions, registerTestHandlers, sideEffects } from '../../support/test-handlers.ts';

for (const database of testDatabases) {
  describe(`tasks [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database, {
        configure: async (nimbus) => {
          await createTestTables(nimbus.store.db);
          registerTestHandlers(nimbus.services.taskHandlers, nimbus.store.db);
        },
      });
    });
    after(() => app.close());

    const enqueue = (body: object, token?: string) => app.request({ method: 'POST', url: '/api/tasks/tasks/', payload: body, token });
    const eventuallyIdle = (resource: string) =>
      eventually(
        `no task open on ${resource}`,
        async () => ((await app.request({ method: 'GET', url: `/api/tasks/tasks/?resource=${resource}&status=running,pending` })).json().count === 0 ? 0 : undefined),
        // A bound, not a speed target: a queue of 70 runs one after another, which a loaded machine can stretch past 10 s.
        30_000,
      );
    const waitFor = async (id: string, timeout = 10) => {
      const res = await app.request({ method: 'GET', url: `/api/tasks/tasks/${id}/wait/?timeout=${timeout}` });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };

    it('answers 202 with the task and its Location, runs it, and the long poll returns it finished', async () => {
      const res = await enqueue({ type: 'noop' });
      assert.equal(res.statusCode, 202, res.body);
      const task = res.json();
      assert.equal(task.status, 'pending');
      assert.equal(res.headers.location, `http://localhost:80/api/tasks/tasks/${task.id}/`);
      assert.equal(task.url, res.headers.location);
      const done = await waitFor(task.id);
      assert.equal(done.status, 'succeeded');
      assert.equal(done.attempts, 1);
      assert.equal(done.progress.percent, 100);
      assert.ok(done.started_at >= done.created_at && done.finished_at >= done.started_at);
      const fetched = await app.request({ method: 'GET', url: `/api/tasks/tasks/${task.id}/` });
      assert.deepEqual(fetched.json(), done);
    });

    it('refuses task types users may not create and bad input, changing nothing', async () => {
      const countBefore = (await app.request({ method: 'GET', url: '/api/tasks/tasks/' })).json().count;
      const unknown = await enqueue({ type: 'server.delete' });
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.json().type[0], /not a valid choice.*noop/);
      const withInput = await enqueue({ type: 'noop', input: { x: 1 } });
      assert.deepEqual(withInput.json(), { input: ['A noop task takes no input.'] });
      const missing = await enqueue({});
      assert.deepEqual(missing.json(), { type: ['This field is required.'] });
      // An input nested without bound is broken JSON here, not a crash of whatever walks it.
      const deep = await app.request({ method: 'POST', url: '/api/tasks/tasks/', payload: `{"type":"test.sleep","input":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`, headers: { 'content-type': 'application/json' } });
      assert.equal(deep.statusCode, 400, deep.body);
      assert.match(deep.json().detail, /^JSON parse error - Nested deeper than 64 levels/);
      const nested63 = `${'{"a":'.repeat(62)}1${'}'.repeat(62)}`;
      const deepest = await enqueue({ type: 'noop', input: JSON.parse(nested63) });
      assert.deepEqual(deepest.json(), { input: ['A noop task takes no input.'] });
      assert.equal((await app.request({ method: 'GET', url: '/api/tasks/tasks/' })).json().count, countBefore);
    });

    it('lists with status, type and resource filters, by page or by cursor', async () => {
      const resource = newId();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await enqueue({ type: 'test.sleep', input: { ms: 1, resource } })).json().id);
      for (const id of ids) await waitFor(id);
      const byResource = (await app.request({ method: 'GET', url: `/api/tasks/tasks/?resource=${resource}` })).json();
      assert.deepEqual(byResource.results.map((t: { id: string }) => t.id).sort(), [...ids].sort());
      const typed = (await app.request({ method: 'GET', url: `/api/tasks/tasks/?resource=test:${resource}&status=succeeded&type=test.sleep` })).json();
      assert.equal(typed.count, 3);
      assert.equal((await app.request({ method: 'GET', url: `/api/tasks/tasks/?resource=other:${resource}` })).json().count, 0);
      const first = (await app.request({ method: 'GET', url: `/api/tasks/tasks/?resource=${resource}&cursor=&page_size=2` })).json();
      assert.equal(first.results.length, 2);
      const second = (await app.request({ method: 'GET', url: `/api/tasks/tasks/?resource=${resource}&cursor=${first.next}&page_size=2` })).json();
      assert.equal(second.results.length, 1);
      assert.equal(second.next, null);
      const bad = await app.request({ method: 'GET', url: '/api/tasks/tasks/?status=done' });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().status[0], /"done" is not a valid choice/);
    });

    it('records handler steps, progress and results', async () => {
      const task = (await enqueue({ type: 'test.sleep', input: { ms: 5 } })).json();
      const done = await waitFor(task.id);
      assert.equal(done.status, 'succeeded');
      assert.deepEqual(done.result, { worker: String(process.pid) });
      const mine = (await sideEffects(app.nimbus.store.db)).filter((e) => e.task_id === task.id);
      assert.deepEqual(mine.map((e) => e.step), ['before', 'after']);
    });

    it('retries a retryable failure with backoff, and fails for good on a domain error with its context', async () => {
      const flaky = (await enqueue({ type: 'test.flaky', input: { failures: 1 } })).json();
      const retried = await waitFor(flaky.id);
      assert.equal(retried.status, 'succeeded', JSON.stringify(retried));
      assert.equal(retried.attempts, 2);
      assert.deepEqual(retried.result, { attempt: 2 });
      const refused = await waitFor((await enqueue({ type: 'test.refused' })).json().id);
      assert.equal(refused.status, 'failed');
      assert.equal(refused.attempts, 1);
      assert.deepEqual(refused.error, { code: 'invalid_state', message: 'The server should be running.', context: { current: 'stopped', expected: ['running'] } });
      const events = (await app.request({ method: 'GET', url: `/api/events/events/?resource=${flaky.id}` })).json();
      assert.deepEqual(events.results.map((e: { type: string }) => e.type).reverse(), ['task.created', 'task.running', 'task.retrying', 'task.running', 'task.succeeded']);
    });

    it('never runs two tasks on one resource at once: the second waits', async () => {
      const resource = newId();
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await enqueue({ type: 'test.sleep', input: { ms: 60, resource } })).json().id);
      for (const id of ids) assert.equal((await waitFor(id)).status, 'succeeded');
      const runs = (await executions(app.nimbus.store.db)).filter((e) => ids.includes(e.task_id));
      assert.equal(runs.length, 4);
      runs.sort((a, b) => a.started_at.localeCompare(b.started_at));
      for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.started_at >= runs[i - 1]!.finished_at!, `run ${i} overlaps the one before`);
    });

    it('does not hold up other tasks behind a long queue on one busy resource', async () => {
      const busy = newId();
      const first = (await enqueue({ type: 'test.sleep', input: { ms: 10_000, resource: busy } })).json();
      // More waiting tasks than a worker claims at once, all blocked behind the first.
      for (let i = 0; i < 70; i++) await enqueue({ type: 'test.sleep', input: { ms: 0, resource: busy } });
      const other = (await enqueue({ type: 'test.sleep', input: { ms: 0, resource: newId() } })).json();
      const otherDone = await waitFor(other.id);
      assert.equal(otherDone.status, 'succeeded');
      const firstNow = (await app.request({ method: 'GET', url: `/api/tasks/tasks/${first.id}/` })).json();
      assert.equal(firstNow.status, 'running', 'the other task finished while the busy resource was still held');
      await app.request({ method: 'POST', url: `/api/tasks/tasks/${first.id}/cancel/` });
      assert.equal((await waitFor(first.id)).status, 'cancelled');
      const queue = await eventuallyIdle(busy);
      assert.equal(queue, 0);
    });

    it('cancels a pending task at once and a running one through its handler; refuses a finished one', async () => {
      const resource = newId();
      const running = (await enqueue({ type: 'test.sleep', input: { ms: 5000, resource } })).json();
      const queued = (await enqueue({ type: 'test.sleep', input: { ms: 1, resource } })).json();
      await eventually('the first task to run', async () => ((await app.request({ method: 'GET', url: `/api/tasks/tasks/${running.id}/` })).json().status === 'running' ? true : undefined), 2_000);
      const cancelledQueued = await app.request({ method: 'POST', url: `/api/tasks/tasks/${queued.id}/cancel/` });
      assert.equal(cancelledQueued.statusCode, 200, cancelledQueued.body);
      assert.equal(cancelledQueued.json().status, 'cancelled');
      const cancelling = await app.request({ method: 'POST', url: `/api/tasks/tasks/${running.id}/cancel/` });
      // Its handler is asked to stop; on PostgreSQL the worker may hear it and end the task before the answer is read back.
      assert.ok(['cancelling', 'cancelled'].includes(cancelling.json().status), cancelling.body);
      const ended = await waitFor(running.id);
      assert.equal(ended.status, 'cancelled');
      assert.equal(ended.error.code, 'cancelled');
      const again = await app.request({ method: 'POST', url: `/api/tasks/tasks/${running.id}/cancel/` });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'invalid_state');
      assert.equal(again.json().current, 'cancelled');
    });

    it('long-polls until the timeout when the task does not finish', async () => {
      const task = (await enqueue({ type: 'test.sleep', input: { ms: 3000 } })).json();
      const started = Date.now();
      const polled = await waitFor(task.id, 1);
      assert.ok(Date.now() - started >= 900, 'the long poll waited');
      assert.ok(['pending', 'running'].includes(polled.status));
      await app.request({ method: 'POST', url: `/api/tasks/tasks/${task.id}/cancel/` });
      assert.equal((await waitFor(task.id)).status, 'cancelled');
    });

    it('purges finished tasks after the retention period', async () => {
      const task = (await enqueue({ type: 'noop' })).json();
      await waitFor(task.id);
      await app.nimbus.worker.purgeFinished(task.created_at);
      assert.equal((await app.request({ method: 'GET', url: `/api/tasks/tasks/${task.id}/` })).statusCode, 200, 'a task finished after the cut-off stays');
      const purged = await app.nimbus.worker.purgeFinished(new Date(Date.now() + 1000).toISOString());
      assert.ok(purged >= 1);
      assert.equal((await app.request({ method: 'GET', url: `/api/tasks/tasks/${task.id}/` })).statusCode, 404);
    });

    it('needs task:read and task:write scopes, and hides other organizations\' tasks', async () => {
      const admin = await app.nimbus.store.db.selectFrom('users').selectAll().where('username', '=', 'admin').executeTakeFirstOrThrow();
      const { secret: readOnly } = await app.nimbus.services.tokens.create({ userId: admin.id, organizationId: admin.organization_id, kind: 'personal', name: 'ro', scopes: ['task:read'], expiresAt: null });
      const refused = await enqueue({ type: 'noop' }, readOnly);
      assert.equal(refused.statusCode, 403);
      assert.equal((await app.request({ method: 'GET', url: '/api/tasks/tasks/', token: readOnly })).statusCode, 200);

      const sub = (await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: { name: 'Tenant' } })).json();
      const tenant = (await addUser(app, 'task-tenant', { role: 'admin', organization: sub.id })).session;
      const adminTask = (await enqueue({ type: 'noop' })).json();
      assert.equal((await app.request({ method: 'GET', url: `/api/tasks/tasks/${adminTask.id}/`, token: tenant })).statusCode, 404);
      assert.equal((await app.request({ method: 'POST', url: `/api/tasks/tasks/${adminTask.id}/cancel/`, token: tenant })).statusCode, 404);
      const tenantTask = (await enqueue({ type: 'noop' }, tenant)).json();
      assert.equal(tenantTask.organization, sub.id);
      const listed = (await app.request({ method: 'GET', url: '/api/tasks/tasks/', token: tenant })).json();
      assert.deepEqual(listed.results.map((t: { id: string }) => t.id), [tenantTask.id]);
      // The parent organization sees its sub-organization's tasks.
      assert.equal((await app.request({ method: 'GET', url: `/api/tasks/tasks/${tenantTask.id}/` })).statusCode, 200);
    });
  });
}
