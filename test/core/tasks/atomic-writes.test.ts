import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Store } from '../../../src/store/database.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';

/** Events the database refuses: a task's change must then not happen either. */
const REFUSED = sql`(new.type = 'task.created' and new.data like '%test.unrecorded%')
  or (new.type = 'task.running' and new.data like '%test.unstartable%')
  or (new.type = 'task.succeeded' and new.data like '%test.unfinishable%')`;

async function refuseEvents(store: Store): Promise<void> {
  if (store.dialect === 'sqlite') {
    await sql`create trigger refuse_events before insert on events when ${REFUSED} begin select raise(abort, 'event refused'); end`.execute(store.db);
    return;
  }
  await sql`create function refuse_event() returns trigger language plpgsql as $$
    begin if ${REFUSED} then raise exception 'event refused'; end if; return new; end $$`.execute(store.db);
  await sql`create trigger refuse_events before insert on events for each row execute function refuse_event()`.execute(store.db);
}

for (const database of testDatabases) {
  describe(`a task's changes and their events are written together [${database.name}]`, () => {
    let app: TestApp;
    const ran: string[] = [];

    before(async () => {
      app = await startTestApp(database, {
        configure: (nimbus) => {
          for (const type of ['test.unrecorded', 'test.unstartable', 'test.unfinishable']) {
            nimbus.services.taskHandlers.register(type, { userCreatable: true, run: async (context) => void ran.push(context.taskId) });
          }
        },
      });
      await refuseEvents(app.nimbus.store);
    });
    after(() => app?.close());

    const create = (type: string) => app.request({ method: 'POST', url: '/api/tasks/tasks/', payload: { type } });
    const row = (id: string) => app.nimbus.store.db.selectFrom('tasks').select(['status', 'attempts']).where('id', '=', id).executeTakeFirstOrThrow();
    const eventsOf = async (id: string) => (await app.nimbus.store.db.selectFrom('events').select('type').where('resource_id', '=', id).execute()).map((e) => e.type);

    it('creates no task whose created event cannot be written', async () => {
      const res = await create('test.unrecorded');
      assert.equal(res.statusCode, 500, res.body);
      const rows = await app.nimbus.store.db.selectFrom('tasks').select('id').where('type', '=', 'test.unrecorded').execute();
      assert.deepEqual(rows, []);
    });

    it('starts no task whose running event cannot be written', async () => {
      const res = await create('test.unstartable');
      assert.equal(res.statusCode, 202, res.body);
      const { id } = res.json();
      // Claims come at least every second: several have failed by now.
      await sleep(2_500);
      assert.deepEqual(await row(id), { status: 'pending', attempts: 0 });
      assert.equal(ran.includes(id), false, 'the handler did not run');
      assert.deepEqual(await eventsOf(id), ['task.created']);
      // Cancelled, so that the worker stops trying.
      assert.equal((await app.request({ method: 'POST', url: `/api/tasks/tasks/${id}/cancel/` })).statusCode, 200);
    });

    it('records no outcome whose event cannot be written: the task stays running', async () => {
      const res = await create('test.unfinishable');
      assert.equal(res.statusCode, 202, res.body);
      const { id } = res.json();
      await eventually('the handler to run', async () => (ran.includes(id) ? true : undefined), 10_000);
      await sleep(500);
      assert.deepEqual(await row(id), { status: 'running', attempts: 1 });
      assert.deepEqual((await eventsOf(id)).sort(), ['task.created', 'task.running']);
    });
  });
}
