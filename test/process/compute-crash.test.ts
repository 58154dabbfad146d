import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { commandFinished, computeProcessDatabases, computeProcessSetup } from '../support/compute-processes.ts';
import { hostLeftovers } from '../support/host-leftovers.ts';
import { api, eventually, startServer, tasksFinished } from '../support/server-process.ts';

const BATCH = 5;
for (const { name, open, skip } of computeProcessDatabases) {
  describe(`servers created by a killed nimbus serve [${name}]`, { skip }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('all end running after a restart, and terminating them leaves nothing on the host', async () => {
      const { token, root, env } = await computeProcessSetup(open, cleanups);

      const first = await startServer(env);
      cleanups.push(() => first.kill());
      const created: { id: string; task: string }[] = [];
      const create = async (i: number) => {
        const res = await api(first, token, 'POST', '/api/servers/servers/', { name: `crash-${i}`, start: true });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        created.push(res.json as { id: string; task: string });
        return res.json.task as string;
      };
      // Kill it while the batch is under way: some servers are up, and some are being started
      // (their tasks claimed, so that the restart has to take them over). Servers start in tens
      // of milliseconds, so the last ones are created only once one runs, and the kill comes as
      // soon as one of theirs is claimed.
      for (let i = 0; i < BATCH - 2; i++) await create(i);
      await eventually('a server of the batch to be running', async () => {
        const list = (await api(first, token, 'GET', '/api/servers/servers/?page_size=100')).json;
        return list.results.some((s: { state: string }) => s.state === 'running') ? true : undefined;
      }, 120_000);
      const late = [await create(BATCH - 2), await create(BATCH - 1)];
      const deadline = Date.now() + 60_000;
      for (;;) {
        const statuses = await Promise.all(late.map(async (task) => (await api(first, token, 'GET', `/api/tasks/tasks/${task}/`)).json.status as string));
        if (statuses.includes('running')) break;
        assert.ok(statuses.includes('pending') && Date.now() < deadline, `a late task to be claimed and still running: ${statuses}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await first.kill('SIGKILL');

      const second = await startServer(env);
      cleanups.push(() => second.kill());
      const tasks = await tasksFinished(second, token, created.map((s) => s.task), 120_000);
      assert.deepEqual(tasks.map((t) => t.status), created.map(() => 'succeeded'), JSON.stringify(tasks.map((t) => t.error)));
      assert.ok(tasks.some((t) => t.attempts >= 2), `a task was taken over after the crash: ${tasks.map((t) => t.attempts)}`);
      const servers = (await api(second, token, 'GET', '/api/servers/servers/?page_size=100')).json.results;
      assert.deepEqual(servers.map((s: { state: string }) => s.state).sort(), created.map(() => 'running'));
      // Every one of them really runs: it answers a command.
      for (const server of created) {
        const res = await api(second, token, 'POST', '/api/events/commands/', { shell: 'system', line: 'hostname', server: server.id });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        const command = await commandFinished(second, token, res.json[0].id);
        assert.equal(command.status, 'success', JSON.stringify(command));
      }

      const terminations = [];
      for (const server of created) {
        const res = await api(second, token, 'POST', `/api/servers/servers/${server.id}/actions/`, { action: 'terminate' });
        assert.equal(res.status, 202, JSON.stringify(res.json));
        terminations.push(res.json.id as string);
      }
      const ended = await tasksFinished(second, token, terminations, 120_000);
      assert.deepEqual(ended.map((t) => t.status), terminations.map(() => 'succeeded'));
      assert.equal((await api(second, token, 'GET', '/api/servers/servers/')).json.count, 0);
      assert.equal((await api(second, token, 'GET', '/api/storage/volumes/')).json.count, 0);
      await second.kill('SIGTERM');
      assert.deepEqual(hostLeftovers(root, { servers: created.map((s) => s.id) }, ['images', 'networks']), []);
    });
  });
}
