import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { testPostgresUrl } from '../support/databases.ts';
import { api, eventually, postgresDatabase, startServer, tasksFinished, type ServerProcess, type SharedDatabase } from '../support/server-process.ts';
import { openEventStream } from '../support/sse.ts';
import { executions, sideEffects, type Execution } from '../support/test-handlers.ts';

const WORKERS = { NIMBUS_TASK_LEASE_SECONDS: '2', NIMBUS_WORKER_CONCURRENCY: '4' };

function overlaps(a: Execution, b: Execution): boolean {
  return a.started_at < (b.finished_at ?? '9') && b.started_at < (a.finished_at ?? '9');
}

// Several processes on one database need the real server: the embedded PostgreSQL is in-process.
describe('two worker processes on one PostgreSQL', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL' }, () => {
  let database: SharedDatabase;
  let first: ServerProcess;
  let second: ServerProcess;
  before(async () => {
    database = await postgresDatabase();
    [first, second] = await Promise.all([startServer({ ...database.env, ...WORKERS }), startServer({ ...database.env, ...WORKERS })]);
  });
  after(async () => {
    await Promise.all([first?.kill(), second?.kill()]);
    await database?.cleanup();
  });

  it('never run one task twice, nor two tasks on one resource at once (property over random workloads)', async () => {
    const workload = fc.array(fc.record({ ms: fc.integer({ min: 0, max: 40 }), resource: fc.option(fc.constantFrom('r1', 'r2', 'r3'), { nil: undefined }), via: fc.boolean() }), {
      minLength: 10,
      maxLength: 40,
    });
    await fc.assert(
      fc.asyncProperty(workload, async (specs) => {
        const prefix = crypto.randomUUID().slice(0, 8);
        const ids = await Promise.all(
          specs.map(async (spec) => {
            const input = { ms: spec.ms, ...(spec.resource ? { resource: `${prefix}-${spec.resource}` } : {}) };
            const res = await api(spec.via ? first : second, database.token, 'POST', '/api/tasks/tasks/', { type: 'test.sleep', input });
            assert.equal(res.status, 202);
            return { id: res.json.id as string, resource: input.resource };
          }),
        );
        const tasks = await tasksFinished(first, database.token, ids.map((t) => t.id));
        assert.ok(tasks.every((t) => t.status === 'succeeded'));
        const runs = await executions(database.store.db);
        for (const { id } of ids) assert.equal(runs.filter((r) => r.task_id === id).length, 1, `task ${id} ran exactly once`);
        for (const resource of new Set(ids.map((t) => t.resource).filter(Boolean))) {
          const mine = new Set(ids.filter((t) => t.resource === resource).map((t) => t.id));
          const onResource = runs.filter((r) => mine.has(r.task_id));
          for (const a of onResource) for (const b of onResource) if (a !== b) assert.ok(!overlaps(a, b), `two tasks on ${resource} overlapped`);
        }
      }),
      { numRuns: 4 },
    );
    const workersUsed = new Set((await executions(database.store.db)).map((r) => r.worker));
    assert.deepEqual(workersUsed, new Set([String(first.pid), String(second.pid)]), 'both processes took tasks');
  });

  it('streams on one replica the events written by the other, in commit order', async () => {
    const stream = await openEventStream(`${first.url}/api/events/events/stream/?type=organization.created`, database.token);
    const names = Array.from({ length: 6 }, (_, i) => `replica-${i}`);
    for (const [i, name] of names.entries()) {
      const res = await api(i % 2 ? first : second, database.token, 'POST', '/api/iam/organizations/', { name });
      assert.equal(res.status, 201);
    }
    const received = await stream.take(names.length, 10_000);
    stream.close();
    assert.deepEqual(received.map((m) => (m.data.data as { name: string }).name), names);
  });

  it('when one worker is killed mid-run, the other finishes its tasks once the lease expires', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push((await api(first, database.token, 'POST', '/api/tasks/tasks/', { type: 'test.sleep', input: { ms: 600 } })).json.id);
    const victim = String(first.pid);
    await eventually('the first worker to be mid-run', async () => {
      const runs = await executions(database.store.db);
      return runs.some((r) => ids.includes(r.task_id) && r.worker === victim && r.finished_at === null) ? true : undefined;
    });
    const killedAt = new Date().toISOString();
    await first.kill('SIGKILL');

    const tasks = await tasksFinished(second, database.token, ids);
    assert.ok(tasks.every((t) => t.status === 'succeeded'), JSON.stringify(tasks.map((t) => t.status)));
    const runs = (await executions(database.store.db)).filter((r) => ids.includes(r.task_id));
    const interrupted = runs.filter((r) => r.worker === victim && r.finished_at === null);
    assert.ok(interrupted.length > 0);
    for (const cut of interrupted) {
      const takeover = runs.find((r) => r.task_id === cut.task_id && r.worker === String(second.pid));
      assert.ok(takeover, `task ${cut.task_id} was finished by the surviving worker`);
      assert.ok(takeover.started_at > killedAt, 'it was taken over only after the crash');
      assert.ok(takeover.finished_at);
    }
    const effects = await sideEffects(database.store.db);
    for (const id of ids) assert.deepEqual(effects.filter((e) => e.task_id === id).map((e) => e.step), ['before', 'after']);
  });
});
