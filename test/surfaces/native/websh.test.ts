import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'undici';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { bounded, eventually } from '../../support/eventually.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../support/identity.ts';
import { openEventStream } from '../../support/sse.ts';
import { ListResponse, mismatches, WebshSessionDetail, WebshSessionResponse, WebshShareResponse } from './alpacon/cli-types.ts';

const SERVERS = '/api/servers/servers/';
const SESSIONS = '/api/websh/sessions/';

/** A terminal's WebSocket as a client sees it: what it has shown, and how it closed. */
class TerminalClient {
  readonly socket: WebSocket;
  screen = '';
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('message', (event) => {
      assert.ok(event.data instanceof ArrayBuffer, 'terminal output comes as binary frames');
      this.screen += Buffer.from(event.data).toString('utf8');
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener('open', () => resolve());
      this.socket.addEventListener('error', () => reject(new Error('the WebSocket did not open')));
    });
    this.closed = new Promise((resolve) => this.socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })));
  }

  type(text: string): void {
    this.socket.send(Buffer.from(text));
  }

  shows(text: string): Promise<true> {
    return eventually(`the terminal to show ${JSON.stringify(text)} (it shows ${JSON.stringify(this.screen.slice(-300))})`, async () => (this.screen.includes(text) ? true : undefined), 20_000);
  }
}

/** The HTTP status a WebSocket handshake to `url` is answered with (101 when it is accepted), read off the wire. */
function handshakeStatus(url: string): Promise<number> {
  const target = new URL(url.replace(/^ws/, 'http'));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      const key = randomBytes(16).toString('base64');
      socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`);
    });
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const line = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!line) return;
      socket.destroy();
      resolve(Number(line[1]));
    });
    socket.on('error', reject);
  });
}

for (const database of testDatabases) {
  describe(`web shell [${database.name}]`, { skip: computeSkipReason() ?? false, timeout: 300_000 }, () => {
    let app: TestApp;
    let base: string;
    let server: string;
    let carol: TestUser; // a member of the same organization
    let bob: TestUser; // admin of a sibling organization

    /** A call over the real listener (the WebSocket URL names the host the request came to). */
    const call = async (method: string, url: string, payload?: object, token: string = app.token) => {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: { authorization: `token="${token}"`, 'user-agent': 'alpacon-cli/test', ...(payload ? { 'content-type': 'application/json' } : {}) },
        body: payload ? JSON.stringify(payload) : undefined,
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    };
    const open = async (payload: object = {}, token?: string) => {
      const res = await call('POST', SESSIONS, { server, rows: 24, cols: 80, username: '', groupname: '', ...payload }, token);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    };

    before(async () => {
      app = await startComputeTestApp(database);
      base = (await app.nimbus.listeners.listen('127.0.0.1', 0)).replace('localhost', '127.0.0.1');
      const res = await app.request({ method: 'POST', url: SERVERS, payload: { name: 'shell', start: true } });
      assert.equal(res.statusCode, 201, res.body);
      server = res.json().id;
      await eventually('the server to run', async () => ((await app.request({ method: 'GET', url: `${SERVERS}${server}/` })).json().state === 'running' ? true : undefined), 120_000);
      carol = await addUser(app, 'websh-carol', { role: 'admin' });
      const sibling = await addOrganization(app, 'Web shell elsewhere');
      bob = await addUser(app, 'websh-bob', { role: 'admin', organization: sibling });
    });
    after(async () => {
      await app?.close();
    });

    it('opens a terminal in the server: typed input, resize, the shell ending closes with 4000; the session is recorded', async () => {
      const session = await open();
      assert.deepEqual(mismatches(session, WebshSessionResponse), []);
      assert.equal(session.server.id, server);
      assert.equal(session.user.name, 'admin');
      assert.equal(session.user_agent, 'alpacon-cli/test');
      assert.match(session.websocket_url, /^ws:\/\/127\.0\.0\.1:\d+\/ws\/websh\/[0-9a-f-]+\/\?token=/);

      const terminal = new TerminalClient(session.websocket_url);
      await terminal.opened;
      terminal.type('echo "hello-$((6 * 7))"\r');
      await terminal.shows('hello-42');
      terminal.socket.send(JSON.stringify({ type: 'resize', rows: 33, cols: 111 }));
      terminal.type('stty size\r');
      await terminal.shows('33 111');
      terminal.type('exit 3\r');
      assert.equal((await terminal.closed).code, 4000);

      const detail = await eventually('the session to be closed', async () => {
        const res = await call('GET', `${SESSIONS}${session.id}/`);
        return res.body.closed_at ? res.body : undefined;
      });
      assert.deepEqual(mismatches(detail, WebshSessionDetail), []);
      assert.equal(detail.exit_code, 3);
      assert.equal(detail.success, false);
      assert.ok(detail.started_at <= detail.closed_at);
      const listed = await call('GET', `${SESSIONS}?page=1&page_size=100`);
      assert.deepEqual(mismatches(listed.body, ListResponse(WebshSessionDetail)), []);
      assert.ok(listed.body.results.some((s: { id: string }) => s.id === session.id));
      const connectable = await call('GET', `${SESSIONS}?is_connectable=true`);
      assert.ok(!connectable.body.results.some((s: { id: string }) => s.id === session.id));
    });

    it('a token opens one WebSocket, once, and only while it is fresh', async () => {
      const session = await open();
      const terminal = new TerminalClient(session.websocket_url);
      await terminal.opened;
      assert.equal(await handshakeStatus(session.websocket_url), 401, 'a token used twice');
      terminal.socket.close();

      const late = await open();
      const channel = new URL(late.websocket_url).pathname.split('/')[3]!;
      await app.nimbus.store.db.updateTable('websh_channels').set({ token_expires_at: new Date(Date.now() - 1000).toISOString() }).where('id', '=', channel).execute();
      assert.equal(await handshakeStatus(late.websocket_url), 401, 'a late token');
      const forged = new URL(late.websocket_url);
      forged.searchParams.set('token', 'x'.repeat(32));
      assert.equal(await handshakeStatus(forged.toString()), 401, 'a token that is not the channel\'s');
      assert.equal(await handshakeStatus(`${base.replace(/^http/, 'ws')}/ws/websh/not-a-channel/?token=x`), 401);
    });

    it('shares a session read-only: the joiner watches, cannot type, and is closed with the session', async () => {
      const session = await open();
      const owner = new TerminalClient(session.websocket_url);
      await owner.opened;
      owner.type('echo owner-ready\r');
      await owner.shows('owner-ready');

      const shared = await call('POST', `${SESSIONS}${session.id}/share/`, { read_only: true });
      assert.equal(shared.status, 201, JSON.stringify(shared.body));
      assert.deepEqual(mismatches(shared.body, WebshShareResponse), []);
      const shareId = new URL(shared.body.shared_url).searchParams.get('channel');
      const join = (password: string, token: string) => call('POST', `/api/websh/user-channels/${shareId}/join/`, { password }, token);
      assert.equal((await join('wrong', carol.session)).status, 403);
      assert.equal((await join(shared.body.password, bob.session)).status, 404, "another organization's user");
      const joined = await join(shared.body.password, carol.session);
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      assert.deepEqual(mismatches(joined.body, WebshSessionResponse), []);
      assert.equal(joined.body.read_only, true);

      const viewer = new TerminalClient(joined.body.websocket_url);
      await viewer.opened;
      viewer.type('echo from-viewer\r');
      owner.type('echo "owner-$((1 + 1))"\r');
      await viewer.shows('owner-2');
      await owner.shows('owner-2');
      assert.doesNotMatch(owner.screen, /from-viewer/);

      const closed = await call('POST', `${SESSIONS}${session.id}/close/`);
      assert.equal(closed.status, 200);
      assert.equal((await owner.closed).code, 4000);
      assert.equal((await viewer.closed).code, 4000);
      assert.equal((await join(shared.body.password, carol.session)).status, 409, 'a closed session cannot be joined');
    });

    it('refuses bad input and changes nothing: sizes, a server id; an unknown user on the server ends the socket with why', async () => {
      const before = (await call('GET', SESSIONS)).body.count;
      assert.equal((await call('POST', SESSIONS, { server, rows: 0, cols: 80 })).status, 400);
      assert.equal((await call('POST', SESSIONS, { server, rows: 24, cols: 100_000 })).status, 400);
      assert.equal((await call('POST', SESSIONS, { server: 'not-a-uuid', rows: 24, cols: 80 })).status, 400);
      assert.equal((await call('GET', SESSIONS)).body.count, before);

      const session = await open({ username: 'mallory' });
      const terminal = new TerminalClient(session.websocket_url);
      const { code, reason } = await terminal.closed;
      assert.equal(code, 1011);
      assert.match(reason, /mallory/);
    });

    it('a revoked token ends the terminals it opened within seconds: its own shell is hung up, a joiner it let in is cut, the session goes on', async () => {
      const ownerToken = await addToken(app, app.token);
      const session = await open({}, ownerToken.key);
      const owner = new TerminalClient(session.websocket_url);
      await owner.opened;
      owner.type('echo owner-up\r');
      await owner.shows('owner-up');
      const shared = await call('POST', `${SESSIONS}${session.id}/share/`, { read_only: true });
      const shareId = new URL(shared.body.shared_url).searchParams.get('channel');
      const joinerToken = await addToken(app, carol.session);
      const joined = await call('POST', `/api/websh/user-channels/${shareId}/join/`, { password: shared.body.password }, joinerToken.key);
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      const viewer = new TerminalClient(joined.body.websocket_url);
      await viewer.opened;

      // The joiner's token revoked: the joiner is cut, the owner types on.
      assert.equal((await call('DELETE', `/api/auth/tokens/${joinerToken.id}/`, undefined, carol.session)).status, 204);
      const cut = await bounded(viewer.closed, 'the joiner to be cut', 10_000);
      assert.equal(cut.code, 1008);
      assert.match(cut.reason, /token/i);
      owner.type('echo "still-$((2 * 2))"\r');
      await owner.shows('still-4');

      // The owner's: the shell is hung up and the session recorded as closed.
      assert.equal((await call('DELETE', `/api/auth/tokens/${ownerToken.id}/`)).status, 204);
      // Within the re-check (1 s) and the credential caches' life (2 s), with room for a loaded machine.
      const ended = await bounded(owner.closed, 'the owner to be cut', 10_000);
      assert.equal(ended.code, 1008);
      await eventually('the session to be closed', async () => ((await call('GET', `${SESSIONS}${session.id}/`)).body.closed_at ? true : undefined));
    });

    it("a terminal takes one of its credential's stream slots: with none left its socket is closed with why, and the session ends", async () => {
      const busy = await addToken(app, app.token);
      const streams = await Promise.all(Array.from({ length: 20 }, () => openEventStream(`${base}/api/events/events/stream/`, busy.key)));
      try {
        for (const stream of streams) assert.equal(stream.status, 200);
        const session = await open({}, busy.key);
        const refused = await bounded(new TerminalClient(session.websocket_url).closed, 'the refused terminal to close', 10_000);
        assert.equal(refused.code, 1008);
        assert.match(refused.reason, /open streams/);
        assert.ok((await call('GET', `${SESSIONS}${session.id}/`)).body.closed_at, 'the session whose shell never started is closed');
      } finally {
        for (const stream of streams) stream.close();
      }
    });

    it("another organization's server and sessions are a 404; a token without command:write may not open a shell", async () => {
      const session = await open();
      assert.equal((await call('POST', SESSIONS, { server, rows: 24, cols: 80 }, bob.session)).status, 404);
      for (const [method, url] of [
        ['GET', `${SESSIONS}${session.id}/`],
        ['POST', `${SESSIONS}${session.id}/close/`],
        ['POST', `${SESSIONS}${session.id}/share/`],
      ] as const) {
        assert.equal((await call(method, url, method === 'POST' ? {} : undefined, bob.session)).status, 404, `${method} ${url}`);
      }
      assert.ok(!(await call('GET', SESSIONS, undefined, bob.session)).body.results.some((s: { id: string }) => s.id === session.id));
      const reader = await addToken(app, app.token, ['server:read', 'command:read']);
      const refused = await call('POST', SESSIONS, { server, rows: 24, cols: 80 }, reader.key);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'api_token_acl_not_allowed');
      await call('POST', `${SESSIONS}${session.id}/close/`);
    });
  });
}
