import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { containerName } from '../../src/backends/names.ts';
import { commandFinished, computeProcessDatabases, computeProcessSetup } from '../support/compute-processes.ts';
import { hostLeftovers } from '../support/host-leftovers.ts';
import { api, eventually, startServer, tasksFinished, type ServerProcess } from '../support/server-process.ts';

async function serverState(server: ServerProcess, token: string, id: string): Promise<{ state: string; state_detail: string; root_volume: string }> {
  const res = await api(server, token, 'GET', `/api/servers/servers/${id}/`);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json;
}

/** runc on the test's compute root, behind Nimbus's back. */
function runc(root: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('runc', ['--root', path.join(root, 'runc'), ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What runc says of a server's container: its status, or null when runc does not know it. */
function containerStatus(root: string, serverId: string): string | null {
  const result = runc(root, 'state', containerName(serverId));
  return result.status === 0 ? (JSON.parse(result.stdout) as { status: string }).status : null;
}

/** Mounts, loop devices, veths, namespaces and cgroups one server (and its root volume) still holds on the host. */
function heldOnHost(root: string, serverId: string, rootVolumeId: string): string[] {
  // Files are left out (a stopped server keeps its bundle); links are looked up by this server's veth name already.
  return hostLeftovers(root, { servers: [serverId] }, readdirSync(root)).filter((line) => line.startsWith('link:') || line.includes(serverId) || line.includes(rootVolumeId));
}

for (const { name, open, skip } of computeProcessDatabases) {
  describe(`servers reconciled after nimbus serve was killed [${name}]`, { skip }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('keeps a container that outlived it, corrects one killed meanwhile to stopped, and powers it on again', async () => {
      const { token, root, env } = await computeProcessSetup(open, cleanups);

      const first = await startServer(env);
      cleanups.push(() => first.kill());
      const created: { id: string; task: string }[] = [];
      for (const serverName of ['survivor', 'victim']) {
        const res = await api(first, token, 'POST', '/api/servers/servers/', { name: serverName, start: true });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        created.push(res.json);
      }
      for (const server of created) {
        const [task] = await tasksFinished(first, token, [server.task], 120_000);
        assert.equal(task.status, 'succeeded', JSON.stringify(task.error));
        assert.equal((await serverState(first, token, server.id)).state, 'running');
      }
      const [kept, killed] = created;

      await first.kill('SIGKILL');
      // Containers are not children of Nimbus: both outlive it.
      assert.equal(containerStatus(root, kept.id), 'running');
      assert.equal(containerStatus(root, killed.id), 'running');
      // One of them dies while Nimbus is down, and runc forgets it.
      const kill = runc(root, 'kill', containerName(killed.id), 'KILL');
      assert.equal(kill.status, 0, kill.stderr);
      await eventually('the killed container to stop', async () => (containerStatus(root, killed.id) === 'stopped' ? true : undefined));
      const removed = runc(root, 'delete', containerName(killed.id));
      assert.equal(removed.status, 0, removed.stderr);
      assert.equal(containerStatus(root, killed.id), null);

      const second = await startServer(env);
      cleanups.push(() => second.kill());
      // Reconciliation runs before the task worker starts; the corrected row is the sign it ran.
      const corrected = await eventually('the killed server to be corrected', async () => {
        const server = await serverState(second, token, killed.id);
        return server.state === 'running' ? undefined : server;
      });
      assert.equal(corrected.state, 'stopped', corrected.state_detail);
      assert.match(corrected.state_detail, /when Nimbus started/);
      // Like a server powered off, it holds nothing on the host while stopped.
      assert.deepEqual(heldOnHost(root, killed.id, corrected.root_volume), []);
      assert.equal((await serverState(second, token, kept.id)).state, 'running');
      assert.equal(containerStatus(root, kept.id), 'running');

      const events = (await api(second, token, 'GET', `/api/events/events/?type=server.state_corrected&page_size=100`)).json.results as { type: string; resource: { type: string; id: string }; data: Record<string, unknown> }[];
      assert.deepEqual(
        events.map((e) => ({ type: e.type, resource: e.resource, from: e.data.from, to: e.data.to })),
        [{ type: 'server.state_corrected', resource: { type: 'server', id: killed.id }, from: 'running', to: 'stopped' }],
      );

      // The survivor still runs the same container: it answers a command.
      const command = await api(second, token, 'POST', '/api/events/commands/', { shell: 'system', line: 'hostname', server: kept.id });
      assert.equal(command.status, 201, JSON.stringify(command.json));
      const finished = await commandFinished(second, token, command.json[0].id);
      assert.equal(finished.status, 'success', JSON.stringify(finished));
      assert.equal(finished.result.trim(), 'survivor');

      // The corrected one starts again.
      const poweron = await api(second, token, 'POST', `/api/servers/servers/${killed.id}/actions/`, { action: 'poweron' });
      assert.equal(poweron.status, 202, JSON.stringify(poweron.json));
      const [started] = await tasksFinished(second, token, [poweron.json.id], 120_000);
      assert.equal(started.status, 'succeeded', JSON.stringify(started.error));
      assert.equal((await serverState(second, token, killed.id)).state, 'running');
      assert.equal(containerStatus(root, killed.id), 'running');

      const terminations = [];
      for (const server of created) {
        const res = await api(second, token, 'POST', `/api/servers/servers/${server.id}/actions/`, { action: 'terminate' });
        assert.equal(res.status, 202, JSON.stringify(res.json));
        terminations.push(res.json.id as string);
      }
      assert.deepEqual((await tasksFinished(second, token, terminations, 120_000)).map((t) => t.status), terminations.map(() => 'succeeded'));
      assert.equal((await api(second, token, 'GET', '/api/servers/servers/')).json.count, 0);
      assert.equal((await api(second, token, 'GET', '/api/storage/volumes/')).json.count, 0);
      await second.kill('SIGTERM');
      assert.deepEqual(hostLeftovers(root, { servers: created.map((s) => s.id) }, ['images', 'networks']), []);
    });
  });
}
