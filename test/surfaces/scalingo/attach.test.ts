import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { sampleArchive } from '../../support/sample-app.ts';
import { within } from './sockets.ts';
import { acmeAndGlobex, invalid, notFound, plainError, scalingo, viaLink } from './support.ts';

const skip = computeSkipReason();

/** A `CONNECT` as `scalingo run` sends it (Basic, empty user, the token as password), on a raw connection. */
class Attachment {
  readonly socket: net.Socket;
  private received = Buffer.alloc(0);
  readonly closed: Promise<void>;

  constructor(port: number, path: string, credential: string | null) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    this.socket.on('error', () => undefined);
    const auth = credential === null ? '' : `Authorization: Basic ${Buffer.from(`:${credential}`).toString('base64')}\r\n`;
    this.socket.write(`CONNECT ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${auth}\r\n`);
  }

  /** The status line's code once the response head has come, and the body of a refusal (the connection then ends). */
  async status(): Promise<number> {
    await eventually('the response head', async () => (this.received.includes('\r\n\r\n') ? true : undefined), 10_000);
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(this.received.toString())?.[1]);
  }

  /** What came after the response head. */
  get after(): string {
    const text = this.received.toString();
    return text.slice(text.indexOf('\r\n\r\n') + 4);
  }

  close() {
    this.socket.destroy();
  }
}

for (const database of testDatabases) {
  describe(`Scalingo attached one-off runs (CONNECT to attach_url, as scalingo run does) [${database.name}]`, { skip: skip ?? false, timeout: 600_000 }, () => {
    let app: TestApp;
    let port: number;
    let alice: string;
    let bob: string;
    let viewer: string;
    const attachments: Attachment[] = [];

    before(async () => {
      app = await startComputeTestApp(database);
      port = Number(new URL(await app.nimbus.listeners.listen('127.0.0.1', 0)).port);
      ({ alice, bob, victor: viewer } = await acmeAndGlobex(app));
      assert.equal((await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'attach-app' } })).statusCode, 201);
      const source = (await scalingo(app, alice, 'POST', '/v1/sources')).json().source;
      assert.equal((await viaLink(app, source.upload_url, 'PUT', await sampleArchive({ version: 'attach' }))).statusCode, 200);
      const deployment = (await scalingo(app, alice, 'POST', '/v1/apps/attach-app/deployments', { deployment: { source_url: source.download_url } })).json().deployment;
      const done = await eventually('the deployment to finish', async () => {
        const shown = (await scalingo(app, alice, 'GET', `/v1/apps/attach-app/deployments/${deployment.id}`)).json().deployment;
        return ['queued', 'building', 'pushing', 'starting'].includes(shown.status) ? undefined : shown;
      }, 240_000);
      assert.equal(done.status, 'success', done.error);
    });
    after(async () => {
      for (const attachment of attachments) attachment.close();
      await app?.close();
    });

    const attach = (path: string, credential: string | null) => {
      const attachment = new Attachment(port, `/compat/scalingo${path}`, credential);
      attachments.push(attachment);
      return attachment;
    };

    /** An attached run, once its operation is done: its container id and the attach URL's path (without the prefix). */
    const startAttached = async (command: string) => {
      const res = await scalingo(app, alice, 'POST', '/v1/apps/attach-app/run', { command, size: 'S', env: { TERM: 'xterm' } });
      assert.equal(res.statusCode, 200, res.body);
      const { container, operation_url: operationUrl } = res.json();
      const operation = await eventually('the operation to be done', async () => {
        const shown = (await scalingo(app, alice, 'GET', new URL(operationUrl).pathname.replace('/compat/scalingo', ''))).json().operation;
        return shown.status === 'pending' || shown.status === 'running' ? undefined : shown;
      }, 30_000);
      assert.equal(operation.status, 'done', JSON.stringify(operation));
      const attachUrl = new URL(operation.start_one_off_data.attach_url);
      assert.equal(attachUrl.pathname, `/compat/scalingo/v1/apps/${container.app_id}/runs/${container.id}`);
      return { id: container.id as string, path: attachUrl.pathname.replace('/compat/scalingo', '') };
    };

    it('refuses an attachment by another organization, a viewer, no credential, or to no waiting run, before the run starts', async () => {
      const { id, path } = await startAttached('echo started > /tmp/marker; cat');
      for (const [credential, status] of [[bob, 404], [viewer, 403], [null, 401], ['not-a-token', 401]] as const) {
        const refused = attach(path, credential);
        assert.equal(await refused.status(), status, refused.after);
        await within(refused.closed, 10_000, 'the refused connection to end');
        if (status === 404) assert.deepEqual(JSON.parse(refused.after), { resource: 'app', error: 'not found' });
        else assert.equal(typeof JSON.parse(refused.after).error, 'string');
      }
      const other = attach(`/v1/apps/attach-app/runs/${crypto.randomUUID()}`, alice);
      assert.equal(await other.status(), 404);
      assert.deepEqual(JSON.parse((await within(other.closed, 10_000, 'the end'), other.after)), { resource: 'run', error: 'not found' });
      // Nothing ran: the run still waits.
      const run = await app.nimbus.store.db.selectFrom('app_runs').select(['status']).where('id', '=', id).executeTakeFirstOrThrow();
      assert.equal(run.status, 'queued');
      notFound(await scalingo(app, bob, 'GET', `${path}/wait`), 'app');
      // Ends this run: attached, its input closed at once.
      const ending = attach(path, alice);
      assert.equal(await ending.status(), 200);
      ending.socket.write('\x04');
      await within(ending.closed, 60_000, 'the run to end');
      assert.deepEqual((await scalingo(app, alice, 'GET', `${path}/wait`)).json(), { exit_code: 0 });
    });

    it('runs attached: input to the process until EOT, its output back on the connection, its exit code from /wait; one attachment only', async () => {
      const { path } = await startAttached('read line; echo "got:$line"; cat; echo "term:$TERM" >&2; exit 3');
      const attachment = attach(path, alice);
      assert.equal(await attachment.status(), 200);
      attachment.socket.write('hello\nsecond line\n\x04');
      await within(attachment.closed, 60_000, 'the run to end its output');
      // stdout and stderr are two pipes: each keeps its own order, their interleaving is the kernel's.
      const lines = attachment.after.split('\n');
      assert.deepEqual(lines.filter((line) => line !== 'term:xterm'), ['got:hello', 'second line', '']);
      assert.equal(lines.filter((line) => line === 'term:xterm').length, 1, attachment.after);
      const waited = await scalingo(app, { username: '', password: alice }, 'GET', `${path}/wait`);
      assert.equal(waited.statusCode, 200, waited.body);
      assert.deepEqual(waited.json(), { exit_code: 3 });
      // Claimed: no second attachment.
      const again = attach(path, alice);
      assert.equal(await again.status(), 404);
      // Files are not taken, with a clear error.
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', `${path}/files`, {}))), ['file']);
      notFound(await scalingo(app, bob, 'POST', `${path}/files`, {}), 'app');
      plainError(await scalingo(app, null, 'GET', `${path}/wait`), 401);
    });

    it('fails a run nobody attaches to in time (the tests wait 15 s for it), without running it', async () => {
      const { id, path } = await startAttached('echo never');
      const failed = await eventually('the run to fail', async () => {
        const run = await app.nimbus.store.db.selectFrom('app_runs').select(['status', 'exit_code']).where('id', '=', id).executeTakeFirstOrThrow();
        return run.status === 'queued' ? undefined : run;
      }, 40_000);
      assert.deepEqual(failed, { status: 'failed', exit_code: null });
      assert.deepEqual((await scalingo(app, alice, 'GET', `${path}/wait`)).json(), { exit_code: -1 });
      const late = attach(path, alice);
      assert.equal(await late.status(), 404);
    });

    it('kills an attached run whose connection goes away', async () => {
      const { id } = await startAttached('echo up; sleep 300');
      const attachment = attach(`/v1/apps/attach-app/runs/${id}`, alice);
      assert.equal(await attachment.status(), 200);
      await eventually('the run to start', async () => (attachment.after.includes('up') ? true : undefined), 30_000);
      attachment.close();
      const ended = await eventually('the run to be killed', async () => {
        const run = await app.nimbus.store.db.selectFrom('app_runs').select(['status', 'exit_code']).where('id', '=', id).executeTakeFirstOrThrow();
        return run.status === 'running' ? undefined : run;
      }, 30_000);
      assert.equal(ended.status, 'failed');
      assert.notEqual(ended.exit_code, 0);
    });
  });
}
