import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createTaskHandlerRegistry } from '../../../src/core/tasks/handlers.ts';
import { taskEvent } from '../../../src/core/tasks/task-service.ts';
import { createTaskWorker, type TaskWorker } from '../../../src/core/tasks/worker.ts';
import { createLogger } from '../../../src/logger.ts';
import { createInProcessNotifier } from '../../../src/store/notifier.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { actorFor } from '../../support/identity.ts';

const WORKERS = 3;
const SLOTS = 32;
/** Tasks written in one transaction (all due at once), and tasks created through the API at once (group commit). */
const QUEUED = 500;
const REQUESTED = 150;

for (const database of testDatabases) {
  describe(`batch claims [${database.name}]`, () => {
    let app: TestApp;
    const workers: TaskWorker[] = [];
    const notifier = createInProcessNotifier();
    /** Every execution of a task's handler, by task: the names of the workers that ran it. */
    const runs = new Map<string, string[]>();

    before(async () => {
      // The app runs no worker of its own: the racing workers below are the only ones.
      app = await startTestApp(database, {
        workerConcurrency: 0,
        configure: (nimbus) => nimbus.services.taskHandlers.register('test.count', { userCreatable: true, run: async () => assert.fail('only the racing workers run tasks') }),
      });
      for (let i = 0; i < WORKERS; i++) {
        const name = `worker-${i}`;
        const handlers = createTaskHandlerRegistry();
        handlers.register('test.count', {
          async run(context) {
            runs.set(context.taskId, [...(runs.get(context.taskId) ?? []), name]);
            // Handlers that take a moment keep claims of the workers overlapping.
            await sleep(Math.random() * 5);
            return null;
          },
        });
        const settings = { concurrency: SLOTS, slotsPerTenant: SLOTS, leaseSeconds: 30, retentionSeconds: 3600, shutdownGraceSeconds: 5 };
        workers.push(createTaskWorker({ store: app.nimbus.store, events: app.nimbus.services.events, notifier, handlers, settings, logger: createLogger('silent') }));
      }
      for (const worker of workers) worker.start();
    });
    after(async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await app?.close();
    });

    it('hands every task to exactly one of several workers claiming batches at once', async () => {
      const { db } = app.nimbus.store;
      const actor = await actorFor(app, app.token);
      const queued = await db.transaction().execute(async (trx) => {
        const ids: string[] = [];
        for (let i = 0; i < QUEUED; i++) ids.push((await app.nimbus.services.tasks.enqueue(trx, actor, { type: 'test.count' })).id);
        return ids;
      });
      await notifier.notify(db, 'tasks');
      const requested = await Promise.all(
        Array.from({ length: REQUESTED }, async () => {
          const res = await app.request({ method: 'POST', url: '/api/tasks/tasks/', payload: { type: 'test.count' } });
          assert.equal(res.statusCode, 202, res.body);
          return res.json().id as string;
        }),
      );
      await notifier.notify(db, 'tasks');
      const ids = [...queued, ...requested];
      assert.equal(new Set(ids).size, QUEUED + REQUESTED);

      await eventually(
        'every task to succeed',
        async () => {
          const row = await db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('id', 'in', ids).where('status', '=', 'succeeded').executeTakeFirstOrThrow();
          return Number(row.n) === ids.length ? true : undefined;
        },
        60_000,
      );

      for (const id of ids) assert.equal(runs.get(id)?.length, 1, `task ${id} ran once (ran by ${runs.get(id)?.join(', ') ?? 'none'})`);
      const attempts = await db.selectFrom('tasks').select('attempts').distinct().where('id', 'in', ids).execute();
      assert.deepEqual(attempts.map((r) => r.attempts), [1], 'every task was claimed once');
      const events = await db.selectFrom('events').select(['resource_id', 'type']).where('resource_type', '=', 'task').where('type', 'in', ['task.created', 'task.running', 'task.succeeded']).execute();
      for (const type of ['task.created', 'task.running', 'task.succeeded']) {
        const recorded = events.filter((e) => e.type === type).map((e) => e.resource_id);
        assert.equal(recorded.length, ids.length, `one ${type} event per task`);
        assert.deepEqual(new Set(recorded), new Set(ids));
      }
      // A claim records each start as taskEvent would (PostgreSQL writes them in the claim's own statement).
      const started = await db.selectFrom('events').selectAll().where('resource_id', '=', requested[0]!).where('type', '=', 'task.running').executeTakeFirstOrThrow();
      const task = await db.selectFrom('tasks').selectAll().where('id', '=', requested[0]!).executeTakeFirstOrThrow();
      const expected = taskEvent(task, 'running', { attempt: 1 });
      assert.deepEqual(
        { organization_id: started.organization_id, organization_path: started.organization_path, actor: started.actor, resource_type: started.resource_type, request_id: started.request_id, data: JSON.parse(started.data) },
        { organization_id: expected.organizationId, organization_path: expected.organizationPath, actor: expected.actor, resource_type: 'task', request_id: expected.requestId, data: expected.data },
      );
      assert.ok(task.request_id, 'an API-created task names its request');
      const busy = new Set([...runs.values()].flat());
      assert.ok(busy.size > 1, `several workers took tasks (${[...busy].join(', ')})`);
    });
  });
}
