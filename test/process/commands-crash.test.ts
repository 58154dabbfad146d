import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { commandFinished, computeProcessDatabases, computeProcessSetup } from '../support/compute-processes.ts';
import { api, eventually, startServer } from '../support/server-process.ts';

for (const { name, open, skip } of computeProcessDatabases) {
  describe(`a command running when nimbus serve is killed [${name}]`, { skip }, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('ends failed after the restart, and is never run a second time', async () => {
      const { token, env } = await computeProcessSetup(open, cleanups);

      const first = await startServer(env);
      cleanups.push(() => first.kill());
      const created = await api(first, token, 'POST', '/api/servers/servers/', { name: 'crash-commands', start: true });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const serverId: string = created.json.id;
      await eventually('the server to run', async () => ((await api(first, token, 'GET', `/api/servers/servers/${serverId}/`)).json.state === 'running' ? true : undefined), 120_000);

      // Each execution leaves a line in /tmp/runs.
      const posted = await api(first, token, 'POST', '/api/events/commands/', { line: 'echo run >> /tmp/runs; echo started; sleep 3; echo done', server: serverId });
      assert.equal(posted.status, 201, JSON.stringify(posted.json));
      const id: string = posted.json[0].id;
      await eventually('the command to start', async () => ((await api(first, token, 'GET', `/api/events/commands/${id}/chunks/`)).json.count > 0 ? true : undefined));
      await first.kill('SIGKILL');

      const second = await startServer(env);
      cleanups.push(() => second.kill());
      const command = await commandFinished(second, token, id);
      assert.equal(command.status, 'failed');
      assert.equal(command.exit_code, null);
      assert.match(command.result, /interrupted.*not run again/);
      const task = (await api(second, token, 'GET', `/api/tasks/tasks/${command.task}/`)).json;
      assert.ok(task.attempts >= 2, 'the task was taken over after the crash');
      const chunks = (await api(second, token, 'GET', `/api/events/commands/${id}/chunks/?ordering=seq`)).json.results;
      assert.equal(chunks.map((c: { content: string }) => c.content).join(''), 'started\n');

      // Once the first execution is surely over, it is the only one there ever was.
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      const check = await api(second, token, 'POST', '/api/events/commands/', { line: 'cat /tmp/runs', server: serverId });
      assert.equal(check.status, 201, JSON.stringify(check.json));
      const runs = await commandFinished(second, token, check.json[0].id);
      assert.equal(runs.result, 'run\n');

      const terminated = await api(second, token, 'POST', `/api/servers/servers/${serverId}/actions/`, { action: 'terminate' });
      assert.equal(terminated.status, 202, JSON.stringify(terminated.json));
      await eventually('the server to be gone', async () => ((await api(second, token, 'GET', `/api/servers/servers/${serverId}/`)).status === 404 ? true : undefined), 60_000);
      await second.kill('SIGTERM');
    });
  });
}
