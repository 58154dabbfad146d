import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { JsonSocket, refusal, within } from './sockets.ts';
import { acmeAndGlobex, notFound, plainError, scalingo, viaLink } from './support.ts';

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC \[[\w-]+\] /;
/** Streams an app's links may hold at once (the bound of a credential's streams). */
const STREAMS = 3;

for (const database of testDatabases) {
  describe(`Scalingo logs followed live: the logs_url over a WebSocket [${database.name}]`, { timeout: 120_000 }, () => {
    let app: TestApp;
    let base: string;
    let alice: string;
    let bob: string;
    let carol: string; // of Globex, a collaborator of live-app
    let appId: string;
    const sockets: JsonSocket[] = [];

    before(async () => {
      app = await startTestApp(database, { limits: { streamsPerCredential: STREAMS } });
      base = (await app.nimbus.listeners.listen('127.0.0.1', 0)).replace('localhost', '127.0.0.1');
      ({ alice, bob, carol } = await acmeAndGlobex(app));
      appId = (await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'live-app' } })).json().app.id;
      await app.nimbus.services.apps.logs.append(appId, [{ source: 'web-1', line: 'before anyone follows' }]);
    });
    after(async () => {
      await Promise.all(sockets.map((s) => s.close()));
      await app?.close();
    });

    /** The logs URL as `scalingo logs -f` dials it: ws://, `&stream=true`, and its filter. */
    const streamUrl = async (credential: string, filter?: string) => {
      const res = await scalingo(app, credential, 'GET', '/v1/apps/live-app/logs');
      assert.equal(res.statusCode, 200, res.body);
      const { pathname, search } = new URL(res.json().logs_url);
      return `${base.replace(/^http/, 'ws')}${pathname}${search}&stream=true${filter ? `&filter=${filter}` : ''}`;
    };
    const follow = async (url: string) => {
      const socket = new JsonSocket(url, { origin: 'http://scalingo-cli.local/1.30.0' });
      sockets.push(socket);
      await within(socket.opened, 10_000, 'the logs socket to open');
      return socket;
    };
    const write = (source: string, line: string) => app.nimbus.services.apps.logs.append(appId, [{ source, line }]);

    it('delivers each line written from now on as {"event": "log", "log", "timestamp"}, of one process type with filter', async () => {
      const all = await follow(await streamUrl(alice));
      const workers = await follow(await streamUrl(alice, 'worker'));
      await write('web-1', 'GET /live 200');
      await write('worker-1', 'job 42 done');
      const web = await all.receive('the web line', (m) => m.event === 'log' && m.log.includes('GET /live 200'));
      assert.match(web.log, LINE);
      assert.match(web.log, /\[web-1\] GET \/live 200\n$/);
      assert.ok(!Number.isNaN(Date.parse(web.timestamp)));
      await all.receive('the worker line', (m) => m.event === 'log' && m.log.includes('job 42 done'));
      const job = await workers.receive('the worker line on the filtered socket', (m) => m.event === 'log');
      assert.match(job.log, /\[worker-1\] job 42 done/);
      assert.ok(all.messages.every((m) => !String(m.log).includes('before anyone follows')), 'only lines written after it connected');
      assert.ok(workers.messages.every((m) => m.event !== 'log' || m.log.includes('[worker-1]')), JSON.stringify(workers.messages));
      await all.close();
      await workers.close();
    });

    it('refuses, before the upgrade and in Scalingo\'s shapes, a link to another app, an altered token, a bad filter, and stream=true without a socket', async () => {
      const url = await streamUrl(alice);
      const other = (await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'other-live-app' } })).json().app.id;
      const wrongApp = await refusal(url.replace(appId, other));
      assert.equal(wrongApp.status, 401);
      assert.equal(typeof wrongApp.body.error, 'string');
      assert.equal((await refusal(url.replace(/token=(.)/, (_m, c: string) => `token=${c === 'A' ? 'B' : 'A'}`))).status, 401);
      assert.equal((await refusal(url.replace(/token=[^&]*/, 'token='))).status, 401);
      assert.deepEqual(Object.keys((await refusal(`${url}&filter=${encodeURIComponent('web%')}`)).body.errors), ['filter']);
      plainError(await viaLink(app, url.replace(/^ws/, 'http')), 426);
      notFound(await scalingo(app, bob, 'GET', '/v1/apps/live-app/logs'), 'app');
    });

    it("ends a collaborator's stream within seconds of the collaborator's removal, and its link with it", async () => {
      const invited = await scalingo(app, alice, 'POST', '/v1/apps/live-app/collaborators', { collaborator: { email: 'carol@example.com' } });
      assert.equal(invited.statusCode, 201, invited.body);
      const { collaborator } = invited.json();
      assert.equal((await scalingo(app, carol, 'GET', `/v1/apps/collaboration${new URL(collaborator.invitation_link).search}`)).statusCode, 200);
      const url = await streamUrl(carol);
      const socket = await follow(url);
      await write('web-2', 'seen by the collaborator');
      await socket.receive('the line', (m) => m.event === 'log' && m.log.includes('seen by the collaborator'));
      // Bob, of carol's organization, reaches none of it.
      notFound(await scalingo(app, bob, 'GET', '/v1/apps/live-app/logs'), 'app');
      assert.equal((await scalingo(app, alice, 'DELETE', `/v1/apps/live-app/collaborators/${collaborator.id}`)).statusCode, 204);
      const closed = await within(socket.closed, 5_000, 'the stream to end');
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /no longer gives access/);
      assert.equal((await refusal(url)).status, 404);
      notFound(await viaLink(app, url.replace(/^ws/, 'http').replace('&stream=true', '')), 'app');
    });

    it(`holds at most ${STREAMS} streams per app: one more is closed with 1013, and a slot frees when a stream closes`, async () => {
      const url = await streamUrl(alice);
      // The server takes a stream's slot after its socket opened: each held stream is counted
      // before the next opens (and a stream of an earlier test, closed by its client, is gone).
      const openStreams = () => app.nimbus.services.longRequests.openCount();
      await eventually('earlier streams to be released', async () => (openStreams() === 0 ? true : undefined), 5_000);
      const held = [];
      for (let i = 1; i <= STREAMS; i++) {
        held.push(await follow(url));
        await eventually(`stream ${i} to hold its slot`, async () => (openStreams() === i ? true : undefined), 5_000);
      }
      const extra = await follow(url);
      const refused = await within(extra.closed, 5_000, 'the extra stream to be closed');
      assert.equal(refused.code, 1013);
      await held[0]!.close();
      // The server frees the slot once it has seen the close: a stream opened meanwhile may still be refused.
      const again = await eventually('a stream to be accepted again', async () => {
        const socket = await follow(url);
        const refusedAgain = await within(socket.closed, 300, 'a refusal').catch(() => null);
        return refusedAgain ? undefined : socket;
      }, 5_000);
      await write('web-1', 'after a slot freed');
      await again.receive('the line', (m) => m.event === 'log' && m.log.includes('after a slot freed'));
      await Promise.all([...held.slice(1), again].map((s) => s.close()));
    });
  });
}
