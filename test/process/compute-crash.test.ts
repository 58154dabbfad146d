import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testPostgresUrl } from '../support/databases.ts';
import { computeSkipReason, computeTestSettings } from '../support/compute.ts';
import { hostLeftovers } from '../support/host-leftovers.ts';
import { createRuncHost } from '../../src/backends/runc/index.ts';
import { api, eventually, postgresDatabase, sqliteDatabase, startServer, type ServerProcess } from '../support/server-process.ts';

const BATCH = 5;
const FINAL = ['succeeded', 'failed', 'cancelled'];

async function tasksFinished(server: ServerProcess, token: string, ids: string[]) {
  return eventually(
    'every task to finish',
    async () => {
      const tasks = await Promise.all(ids.map(async (id) => (await api(server, token, 'GET', `/api/tasks/tasks/${id}/`)).json));
      return tasks.every((t) => FINAL.includes(t.status)) ? tasks : undefined;
    },
    120_000,
  );
}

const computeSkip = computeSkipReason();
const databases = [
  { name: 'sqlite', open: sqliteDatabase, skip: computeSkip ?? (false as const) },
  { name: 'postgres', open: postgresDatabase, skip: computeSkip ?? (testPostgresUrl ? (false as const) : 'needs NIMBUS_TEST_DATABASE_URL (processes cannot share the embedded PostgreSQL)') },
];

for (const { name, open, skip } of databases) {
  describe(`servers created by a killed nimbus serve [${name}]`, { skip }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('all end running after a restart, and terminating them leaves nothing on the host', async () => {
      const database = await open();
      cleanups.push(() => database.cleanup());
      const compute = computeTestSettings();
      cleanups.push(() => compute.dispose());
      // Whatever a failed run left (the organization's bridge too) goes before the range is given back.
      cleanups.push(() => createRuncHost({ root: compute.config.computeDir }).sweep({ servers: new Set(), volumes: new Set(), networks: new Set() }).then(() => undefined));
      const env = {
        ...database.env,
        NIMBUS_COMPUTE_DIR: compute.config.computeDir,
        NIMBUS_NETWORK_RANGE: compute.config.networkRange,
        NIMBUS_HOST_ID: compute.config.hostId,
        NIMBUS_STOP_TIMEOUT_SECONDS: '2',
        NIMBUS_TASK_LEASE_SECONDS: '2',
        NIMBUS_SHUTDOWN_GRACE_SECONDS: '1',
      };
      const { token } = database;

      const first = await startServer(env);
      cleanups.push(() => first.kill());
      const created = [];
      for (let i = 0; i < BATCH; i++) {
        const res = await api(first, token, 'POST', '/api/servers/servers/', { name: `crash-${i}`, start: true });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        created.push(res.json as { id: string; task: string });
      }
      // Kill it while the batch is under way: some servers are up, some not yet.
      await eventually('a server of the batch to be running', async () => {
        const list = (await api(first, token, 'GET', '/api/servers/servers/?page_size=100')).json;
        return list.results.some((s: { state: string }) => s.state === 'running') ? true : undefined;
      }, 120_000);
      await first.kill('SIGKILL');

      const second = await startServer(env);
      cleanups.push(() => second.kill());
      const tasks = await tasksFinished(second, token, created.map((s) => s.task));
      assert.deepEqual(tasks.map((t) => t.status), created.map(() => 'succeeded'), JSON.stringify(tasks.map((t) => t.error)));
      assert.ok(tasks.some((t) => t.attempts >= 2), `a task was taken over after the crash: ${tasks.map((t) => t.attempts)}`);
      const servers = (await api(second, token, 'GET', '/api/servers/servers/?page_size=100')).json.results;
      assert.deepEqual(servers.map((s: { state: string }) => s.state).sort(), created.map(() => 'running'));
      // Every one of them really runs: it answers a command.
      for (const server of created) {
        const res = await api(second, token, 'POST', '/api/events/commands/', { shell: 'system', line: 'hostname', server: server.id });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        const command = await eventually('the command to finish', async () => {
          const c = (await api(second, token, 'GET', `/api/events/commands/${res.json[0].id}/`)).json;
          return ['success', 'failed'].includes(c.status) ? c : undefined;
        });
        assert.equal(command.status, 'success', JSON.stringify(command));
      }

      const terminations = [];
      for (const server of created) {
        const res = await api(second, token, 'POST', `/api/servers/servers/${server.id}/actions/`, { action: 'terminate' });
        assert.equal(res.status, 202, JSON.stringify(res.json));
        terminations.push(res.json.id as string);
      }
      const ended = await tasksFinished(second, token, terminations);
      assert.deepEqual(ended.map((t) => t.status), terminations.map(() => 'succeeded'));
      assert.equal((await api(second, token, 'GET', '/api/servers/servers/')).json.count, 0);
      assert.equal((await api(second, token, 'GET', '/api/storage/volumes/')).json.count, 0);
      await second.kill('SIGTERM');
      assert.deepEqual(hostLeftovers(compute.config.computeDir, { servers: created.map((s) => s.id) }, ['images', 'networks']), []);
    });
  });
}
