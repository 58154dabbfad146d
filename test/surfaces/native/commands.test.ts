import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { newId, nowIso } from '../../../src/core/clock.ts';
import { RUN_COMMAND_TASK } from '../../../src/core/commands/command-runner.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { eventually } from '../../support/eventually.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../support/identity.ts';
import { openEventStream } from '../../support/sse.ts';
import type { TestApp } from '../../support/app.ts';

const COMMANDS = '/api/events/commands/';
const SERVERS = '/api/servers/servers/';
const FINISHED = new Set(['success', 'failed']);
/** Above the long output test's, below the cut test's. */
const OUTPUT_LIMIT = 300 * 1024;

for (const database of testDatabases) {
  describe(`remote commands [${database.name}]`, { skip: computeSkipReason() ?? false }, () => {
    let app: TestApp;
    let server: string;
    let bob: TestUser; // admin of a sibling organization

    const getServer = (id: string) => app.request({ method: 'GET', url: `${SERVERS}${id}/` });
    const serverIn = (id: string, state: string) => eventually(`server ${state}`, async () => ((await getServer(id)).json().state === state ? true : undefined), 120_000);
    const action = async (id: string, name: string) => {
      const res = await app.request({ method: 'POST', url: `${SERVERS}${id}/actions/`, payload: { action: name } });
      assert.equal(res.statusCode, 202, res.body);
    };
    const post = (payload: object, token?: string) => app.request({ method: 'POST', url: COMMANDS, payload, token });
    const run = async (payload: object) => {
      const res = await post({ server, ...payload });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.ok(Array.isArray(body) && body.length === 1, res.body);
      return body[0];
    };
    const finished = (id: string) =>
      eventually(`command ${id} to finish`, async () => {
        const command = (await app.request({ method: 'GET', url: `${COMMANDS}${id}/` })).json();
        return FINISHED.has(command.status) ? command : undefined;
      }, 60_000);
    const allChunks = async (id: string) => {
      const chunks: { seq: number; content: string; added_at: string }[] = [];
      for (let page = 1; ; page++) {
        const res = await app.request({ method: 'GET', url: `${COMMANDS}${id}/chunks/?ordering=seq&page_size=100&page=${page}` });
        assert.equal(res.statusCode, 200, res.body);
        chunks.push(...res.json().results);
        if (res.json().next === null) return chunks;
      }
    };
    const commandCount = async () => (await app.request({ method: 'GET', url: COMMANDS })).json().count;

    before(async () => {
      app = await startComputeTestApp(database, { limits: { commandOutputLimit: OUTPUT_LIMIT, commandTimeoutMaxSeconds: 600 } });
      const res = await app.request({ method: 'POST', url: SERVERS, payload: { name: 'commands', start: true } });
      assert.equal(res.statusCode, 201, res.body);
      server = res.json().id;
      await serverIn(server, 'running');
      const sibling = await addOrganization(app, 'Commands elsewhere');
      bob = await addUser(app, 'commands-bob', { role: 'admin', organization: sibling });
    });
    after(async () => {
      if (server) {
        await action(server, 'terminate');
        await eventually('the server to be gone', async () => ((await getServer(server)).statusCode === 404 ? true : undefined), 60_000);
      }
      await app.close();
    });

    it('runs a line: output in order, exit code, failed; answers a list as Alpacon does', async () => {
      const res = await post({ shell: 'system', line: 'echo hello; echo err >&2; exit 3', server, env: {}, username: 'root', groupname: 'root', run_after: [] });
      assert.equal(res.statusCode, 201, res.body);
      const [queued] = res.json();
      assert.equal(queued.status, 'queued');
      assert.equal(queued.success, null);
      assert.deepEqual(queued.server, { id: server, name: 'commands', os: queued.server.os, is_connected: true });
      assert.equal(queued.requested_by.name, 'admin');
      assert.equal(res.headers.location, `http://localhost:80${COMMANDS}${queued.id}/`);
      const task = (await app.request({ method: 'GET', url: `/api/tasks/tasks/${queued.task}/` })).json();
      assert.equal(task.type, RUN_COMMAND_TASK);

      const done = await finished(queued.id);
      assert.equal(done.status, 'failed');
      assert.equal(done.success, false);
      assert.equal(done.exit_code, 3);
      assert.equal(done.result, 'hello\nerr\n');
      assert.equal(typeof done.elapsed_time, 'number');
      assert.ok(done.started_at >= done.added_at && done.finished_at >= done.started_at);
      assert.equal(done.delivered_at, done.started_at);

      const chunks = await allChunks(queued.id);
      assert.deepEqual(chunks.map((c) => c.seq), chunks.map((_, i) => i));
      assert.equal(chunks.map((c) => c.content).join(''), 'hello\nerr\n');

      const events = (await app.request({ method: 'GET', url: `/api/events/events/?resource=command:${queued.id}` })).json().results;
      assert.deepEqual(events.map((e: { type: string }) => e.type).sort(), ['command.created', 'command.finished']);
      const listed = (await app.request({ method: 'GET', url: `${COMMANDS}?server=${server}&status=failed` })).json();
      assert.ok(listed.results.some((c: { id: string }) => c.id === queued.id));
    });

    it('runs as the user asked for, with the environment given', async () => {
      const asNimbus = await finished((await run({ line: 'id -u', username: 'nimbus' })).id);
      assert.equal(asNimbus.status, 'success', asNimbus.result);
      assert.equal(asNimbus.success, true);
      assert.equal(asNimbus.exit_code, 0);
      assert.equal(asNimbus.result, '1000\n');
      const withEnv = await finished((await run({ line: 'echo "$GREETING from $(id -un)"', env: { GREETING: 'hello there' } })).id);
      assert.equal(withEnv.result, 'hello there from root\n');
      const unknownUser = await finished((await run({ line: 'true', username: 'nobody-here' })).id);
      assert.equal(unknownUser.status, 'failed');
      assert.equal(unknownUser.exit_code, null);
      assert.match(unknownUser.result, /nobody-here/);
    });

    it('keeps a long output complete and in order, in few chunks', async () => {
      const line = 'i=0; while [ $i -lt 4000 ]; do echo "line $i of a long output, padded to be about fifty bytes"; i=$((i+1)); done';
      const expected = Array.from({ length: 4000 }, (_, i) => `line ${i} of a long output, padded to be about fifty bytes\n`).join('');
      assert.ok(expected.length > 200 * 1024);
      const done = await finished((await run({ line })).id);
      assert.equal(done.status, 'success');
      const chunks = await allChunks(done.id);
      assert.equal(chunks.map((c) => c.content).join(''), expected);
      assert.ok(chunks.length < 200, `${chunks.length} chunks`);
      assert.equal(done.result, expected.slice(-64 * 1024));
    });

    it('keeps only the end of an output past the limit, saying how much was cut', async () => {
      const line = 'i=0; while [ $i -lt 8000 ]; do echo "line $i of a longer output, padded to be about fifty bytes"; i=$((i+1)); done';
      const expected = Array.from({ length: 8000 }, (_, i) => `line ${i} of a longer output, padded to be about fifty bytes\n`).join('');
      assert.ok(expected.length > OUTPUT_LIMIT);
      const done = await finished((await run({ line })).id);
      assert.equal(done.status, 'success');
      const kept = (await allChunks(done.id)).map((c) => c.content).join('');
      assert.ok(kept.length <= OUTPUT_LIMIT && kept.length > OUTPUT_LIMIT - 20 * 1024, `${kept.length} characters kept`);
      assert.ok(expected.endsWith(kept), 'the end of the output is what is kept');
      assert.equal(done.output_cut, expected.length - kept.length);
      assert.equal(done.result, `[output cut: the first ${done.output_cut} characters were not kept; the chunks hold the rest]\n${expected.slice(-64 * 1024)}`);
    });

    it('stops a command at its timeout, and refuses one above the most allowed', async () => {
      const started = Date.now();
      const command = await run({ line: 'echo started; sleep 60; echo never', timeout: 2 });
      assert.equal(command.timeout, 2);
      const done = await finished(command.id);
      assert.ok(Date.now() - started < 30_000);
      assert.equal(done.status, 'failed');
      assert.equal(done.success, false);
      assert.equal(done.result, 'started\nThe command was stopped after its timeout of 2 seconds.');
      assert.ok(done.elapsed_time >= 1.5 && done.elapsed_time < 20, `ran ${done.elapsed_time} s`);
      assert.equal((await run({ line: 'true' })).timeout, 600, 'the default, lowered to the most allowed');
      const tooLong = await post({ line: 'true', server, timeout: 601 });
      assert.deepEqual(tooLong.json(), { timeout: ['Ensure this value is less than or equal to 600.'] });
    });

    it("shows environment values only to those who may run commands", async () => {
      const command = await run({ line: 'true', env: { API_KEY: 'very-secret-value', MODE: 'x' } });
      assert.deepEqual(command.env, { API_KEY: 'very-secret-value', MODE: 'x' });
      const viewer = await addUser(app, 'commands-viewer', { role: 'viewer' });
      const readOnly = await addToken(app, app.token, ['command:read', 'server:read']);
      for (const token of [viewer.session, readOnly.key]) {
        const one = (await app.request({ method: 'GET', url: `${COMMANDS}${command.id}/`, token })).json();
        assert.deepEqual(one.env, { API_KEY: '********', MODE: '********' });
        const listed = (await app.request({ method: 'GET', url: `${COMMANDS}?server=${server}`, token })).json();
        assert.ok(listed.results.length > 0 && listed.results.every((c: { env: Record<string, string> }) => Object.values(c.env).every((v) => v === '********')));
      }
      assert.ok(!JSON.stringify((await app.request({ method: 'GET', url: `${COMMANDS}?server=${server}`, token: viewer.session })).json()).includes('very-secret-value'));
      assert.equal((await app.request({ method: 'GET', url: `${COMMANDS}${command.id}/` })).json().env.API_KEY, 'very-secret-value');
      await finished(command.id);
    });

    it('ends an output stream once the token that opened it is revoked', async () => {
      await app.nimbus.http.listen({ host: '127.0.0.1', port: 0 }).catch(() => undefined);
      const base = `http://127.0.0.1:${(app.nimbus.http.server.address() as AddressInfo).port}`;
      const token = await addToken(app, app.token, ['*']);
      const command = await run({ line: 'echo a; sleep 30; echo b' });
      const stream = await openEventStream(`${base}${COMMANDS}${command.id}/stream/`, token.key);
      try {
        assert.equal((await stream.take(1, 10_000))[0]?.data.content, 'a\n');
        await app.request({ method: 'DELETE', url: `/api/auth/tokens/${token.id}/` });
        assert.ok(await stream.ended(4_000), 'the stream ended within the cache delay');
      } finally {
        stream.close();
      }
      await app.request({ method: 'POST', url: `/api/tasks/tasks/${command.task}/cancel/` });
      await finished(command.id);
    });

    it('streams the output live, before the command finishes, and resumes after a chunk', async () => {
      await app.nimbus.http.listen({ host: '127.0.0.1', port: 0 }).catch(() => undefined);
      const base = `http://127.0.0.1:${(app.nimbus.http.server.address() as AddressInfo).port}`;
      const command = await run({ line: 'echo a; sleep 1; echo b' });
      const stream = await openEventStream(`${base}${COMMANDS}${command.id}/stream/`, app.token);
      try {
        assert.equal(stream.status, 200);
        const [first] = await stream.take(1, 10_000);
        assert.equal(first?.event, 'chunk');
        assert.deepEqual([first!.id, first!.data.content], [0, 'a\n']);
        const meanwhile = (await app.request({ method: 'GET', url: `${COMMANDS}${command.id}/` })).json();
        assert.equal(meanwhile.status, 'running', 'the first line arrived while the command still ran');
        const rest = await stream.take(2, 10_000);
        assert.deepEqual(rest.map((m) => m.event), ['chunk', 'finished']);
        assert.equal(rest[0]!.data.content, 'b\n');
        assert.equal(rest[1]!.data.status, 'success');
      } finally {
        stream.close();
      }
      const resumed = await openEventStream(`${base}${COMMANDS}${command.id}/stream/`, app.token, 0);
      try {
        const messages = await resumed.take(2, 5_000);
        assert.deepEqual(messages.map((m) => [m.event, m.data.content ?? null]), [['chunk', 'b\n'], ['finished', null]]);
      } finally {
        resumed.close();
      }
    });

    it('starts a command only after the ones it runs after', async () => {
      const first = await run({ line: 'sleep 1; touch /tmp/first-done' });
      const second = await run({ line: 'test -e /tmp/first-done', run_after: [first.id] });
      assert.deepEqual(second.run_after, [first.id]);
      const [a, b] = [await finished(first.id), await finished(second.id)];
      assert.equal(b.status, 'success', 'the second saw what the first did');
      assert.ok(b.started_at >= a.finished_at);
    });

    it('ends a command interrupted while running as failed when its task runs again, never running it twice', async () => {
      // What a crash leaves: the command marked running, its task about to be run again.
      const { db } = app.nimbus.store;
      const template = await db.selectFrom('commands').selectAll().where('server_id', '=', server).limit(1).executeTakeFirstOrThrow();
      const id = newId();
      await db.insertInto('commands').values({ ...template, id, line: 'touch /tmp/ran-twice', status: 'running', success: null, exit_code: null, result: null, elapsed_time: null, started_at: nowIso(), finished_at: null }).execute();
      const handler = app.nimbus.services.taskHandlers.get(RUN_COMMAND_TASK)!;
      const outcome = await handler.run({ taskId: template.task_id, type: RUN_COMMAND_TASK, input: { command: id }, attempt: 2, signal: new AbortController().signal, progress: async () => {}, step: async () => { throw new Error('unused'); } });
      assert.deepEqual(outcome, { command: id, status: 'failed', exit_code: null });
      const interrupted = (await app.request({ method: 'GET', url: `${COMMANDS}${id}/` })).json();
      assert.equal(interrupted.status, 'failed');
      assert.match(interrupted.result, /interrupted.*not run again/);
      const check = await finished((await run({ line: 'test -e /tmp/ran-twice' })).id);
      assert.equal(check.exit_code, 1, 'the interrupted command was not executed again');
    });

    it('stops a command when its task is cancelled, and a command waiting for it never starts', async () => {
      const sleeper = await run({ line: 'echo started; sleep 30' });
      const waiter = await run({ line: 'touch /tmp/after-cancelled', run_after: [sleeper.id] });
      await eventually('the first command to run', async () => ((await allChunks(sleeper.id)).length > 0 ? true : undefined), 60_000);
      const cancel = (task: string) => app.request({ method: 'POST', url: `/api/tasks/tasks/${task}/cancel/` });
      assert.equal((await cancel(waiter.task)).statusCode, 200);
      const notStarted = await finished(waiter.id);
      assert.deepEqual([notStarted.status, notStarted.started_at, notStarted.result], ['failed', null, 'The command was cancelled before it started.']);
      const began = Date.now();
      assert.equal((await cancel(sleeper.task)).statusCode, 200);
      const stopped = await finished(sleeper.id);
      assert.ok(Date.now() - began < 10_000, 'the process was stopped, not waited for');
      assert.equal(stopped.status, 'failed');
      assert.match(stopped.result, /^started\nThe command was cancelled\.$/);
      const task = (await app.request({ method: 'GET', url: `/api/tasks/tasks/${sleeper.task}/wait/?timeout=10` })).json();
      assert.equal(task.status, 'cancelled');
      const check = await finished((await run({ line: 'test -e /tmp/after-cancelled' })).id);
      assert.equal(check.exit_code, 1);
    });

    it('ends a command whose task is gone without it when it is read', async () => {
      const { db } = app.nimbus.store;
      const template = await db.selectFrom('commands').selectAll().where('server_id', '=', server).limit(1).executeTakeFirstOrThrow();
      const id = newId();
      await db.insertInto('commands').values({ ...template, id, task_id: newId(), status: 'queued', success: null, exit_code: null, result: null, elapsed_time: null, started_at: null, finished_at: null }).execute();
      const read = (await app.request({ method: 'GET', url: `${COMMANDS}${id}/` })).json();
      assert.equal(read.status, 'failed');
      assert.equal(read.result, "The command's task was purged before the command finished.");
    });

    it('refuses bad input with field errors, storing nothing', async () => {
      const before = await commandCount();
      const cases: [object, string][] = [
        [{ line: '', server }, 'line'],
        [{ line: 'true', shell: 'bash', server }, 'shell'],
        [{ line: 'true', env: { A: 1 }, server }, 'env'],
        [{ line: 'true', env: ['A=1'], server }, 'env'],
        [{ line: 'true', server: 'not-a-server' }, 'server'],
        [{ line: 'true', server, run_after: [newId()] }, 'run_after'],
        [{ line: 'true', server, username: 'bad name' }, 'username'],
      ];
      for (const [payload, field] of cases) {
        const res = await post(payload);
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
        assert.ok(Object.keys(res.json()).some((key) => key === field || key.startsWith(`${field}.`)), `${field}: ${res.body}`);
      }
      assert.equal(await commandCount(), before);
    });

    it("hides other organizations' servers and commands", async () => {
      const mine = await run({ line: 'true' });
      const denied = await post({ line: 'true', server }, bob.session);
      assert.equal(denied.statusCode, 404, denied.body);
      for (const suffix of ['', 'chunks/', 'stream/']) {
        const res = await app.request({ method: 'GET', url: `${COMMANDS}${mine.id}/${suffix}`, token: bob.session });
        assert.equal(res.statusCode, 404, `${suffix}: ${res.body}`);
      }
      assert.equal((await app.request({ method: 'GET', url: COMMANDS, token: bob.session })).json().count, 0);
      await finished(mine.id);
    });

    it('refuses a command on a server that is not running, saying its state', async () => {
      await action(server, 'poweroff');
      await serverIn(server, 'stopped');
      const before = await commandCount();
      const res = await post({ line: 'true', server });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'invalid_state');
      assert.equal(res.json().current, 'stopped');
      assert.deepEqual(res.json().expected, ['running']);
      assert.equal(await commandCount(), before);
    });
  });
}
