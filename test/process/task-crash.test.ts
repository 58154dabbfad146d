import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { api, eventually, processDatabases, startServer, tasksFinished, type ServerProcess, type SharedDatabase } from '../support/server-process.ts';
import { executions, sideEffects } from '../support/test-handlers.ts';

const LEASE = { NIMBUS_TASK_LEASE_SECONDS: '2', NIMBUS_WORKER_CONCURRENCY: '4', NIMBUS_SHUTDOWN_GRACE_SECONDS: '1' };

async function enqueueSleepers(server: ServerProcess, token: string, count: number, ms: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await api(server, token, 'POST', '/api/tasks/tasks/', { type: 'test.sleep', input: { ms } });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    ids.push(res.json.id);
  }
  return ids;
}

/** Each task's two side effects happened exactly once. */
async function assertEachSideEffectOnce(database: SharedDatabase, ids: string[]) {
  const effects = await sideEffects(database.store.db);
  for (const id of ids) {
    const steps = effects.filter((e) => e.task_id === id).map((e) => e.step);
    assert.deepEqual(steps, ['before', 'after'], `task ${id} side effects: ${steps.join(', ')}`);
  }
}

for (const { name, open, skip } of processDatabases) {
  describe(`a killed server's tasks [${name}]`, { skip }, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('all reach a final state after a restart, none lost, no side effect twice', async () => {
      const database = await open();
      cleanups.push(() => database.cleanup());
      const first = await startServer({ ...database.env, ...LEASE });
      cleanups.push(() => first.kill());
      const ids = await enqueueSleepers(first, database.token, 12, 400);
      // Kill it in the middle: some tasks have done their first side effect and not the second.
      await eventually('a task to be half done', async () => {
        const effects = await sideEffects(database.store.db);
        const before = new Set(effects.filter((e) => e.step === 'before').map((e) => e.task_id));
        const afterStep = new Set(effects.filter((e) => e.step === 'after').map((e) => e.task_id));
        return [...before].some((id) => !afterStep.has(id)) ? true : undefined;
      });
      await first.kill('SIGKILL');

      const second = await startServer({ ...database.env, ...LEASE });
      cleanups.push(() => second.kill());
      const tasks = await tasksFinished(second, database.token, ids);
      assert.deepEqual(tasks.map((t) => t.status), ids.map(() => 'succeeded'));
      await assertEachSideEffectOnce(database, ids);
      assert.ok(tasks.some((t) => t.attempts >= 2), 'at least one task was taken over after the crash');
      await second.kill('SIGTERM');
    });

    it('a graceful stop lets running tasks finish or hands them back, and a restart completes them', async () => {
      const database = await open();
      cleanups.push(() => database.cleanup());
      const first = await startServer({ ...database.env, ...LEASE });
      cleanups.push(() => first.kill());
      const ids = await enqueueSleepers(first, database.token, 8, 1500);
      await eventually('a task to start', async () => ((await executions(database.store.db)).length > 0 ? true : undefined));
      const stopping = Date.now();
      await first.kill('SIGTERM');
      assert.ok(Date.now() - stopping < 10_000, 'the shutdown is bounded');
      assert.match(first.output(), /"msg":"stopped"/);

      const second = await startServer({ ...database.env, ...LEASE });
      cleanups.push(() => second.kill());
      const tasks = await tasksFinished(second, database.token, ids);
      assert.deepEqual(tasks.map((t) => t.status), ids.map(() => 'succeeded'));
      await assertEachSideEffectOnce(database, ids);
    });
  });
}
