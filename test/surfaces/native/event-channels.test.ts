import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'undici';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../support/identity.ts';
import { mismatches, type GoObject } from './alpacon/cli-types.ts';

const SERVERS = '/api/servers/servers/';
const SESSIONS = '/api/events/sessions/';
const SUBSCRIPTIONS = '/api/events/subscriptions/';

// api/event/subscribe.go and commandoutput_listener.go
const EventSessionResponse: GoObject = { id: 'string', websocket_url: 'string', channel_id: 'string' };
const CommandOutputEnvelope: GoObject = { event_type: 'string', payload: { command_id: 'string', seq: 'int', content: 'string' } };
const CommandFinEnvelope: GoObject = { event_type: 'string', payload: { id: 'string' } };

interface Envelope {
  event_type: string;
  payload: { command_id?: string; seq?: number; content?: string; id?: string };
}

/** A channel's WebSocket as a client sees it: the messages it received, and how it closed. */
class ChannelClient {
  readonly socket: WebSocket;
  readonly messages: Envelope[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.addEventListener('message', (event) => void this.messages.push(JSON.parse(String(event.data))));
    this.opened = bounded(
      new Promise((resolve, reject) => {
        this.socket.addEventListener('open', () => resolve());
        this.socket.addEventListener('error', () => reject(new Error('the WebSocket did not open')));
      }),
      'the channel to open',
    );
    this.closed = new Promise((resolve) => this.socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })));
  }

  async close(): Promise<void> {
    this.socket.close();
    await bounded(this.closed, 'the channel to close');
  }
}

function bounded<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

for (const database of testDatabases) {
  describe(`live command output over event channels [${database.name}]`, { skip: computeSkipReason() ?? false, timeout: 300_000 }, () => {
    let app: TestApp;
    let base: string;
    let server: string;
    let bob: TestUser; // admin of a sibling organization
    const clients: ChannelClient[] = [];

    const call = async (method: string, url: string, payload?: object, token: string = app.token) => {
      const res = await fetch(`${base}${url}`, { method, headers: { authorization: `token="${token}"`, ...(payload ? { 'content-type': 'application/json' } : {}) }, body: payload ? JSON.stringify(payload) : undefined });
      return { status: res.status, body: await res.json().catch(() => null) };
    };
    /** Alpacon's CLI: a session, its socket connected, and only then subscriptions. */
    const connectedChannel = async (token: string = app.token) => {
      const session = await call('POST', SESSIONS, {}, token);
      assert.equal(session.status, 201, JSON.stringify(session.body));
      const client = new ChannelClient(session.body.websocket_url);
      clients.push(client);
      await client.opened;
      return { session: session.body, client };
    };
    const runCommand = async (line: string) => {
      const res = await call('POST', '/api/events/commands/', { server, line, shell: 'system' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body[0].id as string;
    };

    before(async () => {
      app = await startComputeTestApp(database);
      base = (await app.nimbus.listeners.listen('127.0.0.1', 0)).replace('localhost', '127.0.0.1');
      const res = await app.request({ method: 'POST', url: SERVERS, payload: { name: 'live', start: true } });
      assert.equal(res.statusCode, 201, res.body);
      server = res.json().id;
      await eventually('the server to run', async () => ((await app.request({ method: 'GET', url: `${SERVERS}${server}/` })).json().state === 'running' ? true : undefined), 120_000);
      bob = await addUser(app, 'events-bob', { role: 'admin', organization: await addOrganization(app, 'Events elsewhere') });
    });
    after(async () => {
      for (const client of clients) client.socket.close();
      await app?.close();
    });

    it("streams a command's output chunks and its end, as the CLI subscribes to them", async () => {
      const { session, client } = await connectedChannel();
      assert.deepEqual(mismatches(session, EventSessionResponse), []);
      const command = await runCommand('sleep 1; for i in 1 2 3; do echo line-$i; sleep 0.2; done');
      const output = await call('POST', SUBSCRIPTIONS, { channel: session.channel_id, event_type: 'command_output', target_id: command });
      assert.equal(output.status, 201, JSON.stringify(output.body));
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: session.channel_id, event_type: 'command_fin', target_id: server })).status, 201);
      await eventually('the command to finish on the channel', async () => (client.messages.some((m) => m.event_type === 'command_fin' && m.payload.id === command) ? true : undefined), 30_000);
      const chunks = client.messages.filter((m) => m.event_type === 'command_output');
      for (const chunk of chunks) assert.deepEqual(mismatches(chunk, CommandOutputEnvelope), []);
      assert.deepEqual(mismatches(client.messages.find((m) => m.event_type === 'command_fin'), CommandFinEnvelope), []);
      assert.deepEqual(chunks.map((c) => c.payload.seq), chunks.map((_, i) => i), 'every chunk, in order, from the first');
      assert.ok(chunks.every((c) => c.payload.command_id === command));
      assert.equal(chunks.map((c) => c.payload.content).join(''), 'line-1\nline-2\nline-3\n');
      await client.close();
      await eventually('a closed channel to take no subscription', async () => ((await call('POST', SUBSCRIPTIONS, { channel: session.channel_id, event_type: 'command_fin', target_id: server })).status === 404 ? true : undefined), 10_000);
    });

    it('takes subscriptions only once the socket is connected; its token opens it once', async () => {
      const session = await call('POST', SESSIONS, {});
      const command = await runCommand('true');
      const early = await call('POST', SUBSCRIPTIONS, { channel: session.body.channel_id, event_type: 'command_output', target_id: command });
      assert.equal(early.status, 409, JSON.stringify(early.body));
      const client = new ChannelClient(session.body.websocket_url);
      clients.push(client);
      await client.opened;
      const again = new ChannelClient(session.body.websocket_url);
      clients.push(again);
      await assert.rejects(again.opened, /did not open/);
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: session.body.channel_id, event_type: 'command_output', target_id: command })).status, 201);
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: session.body.channel_id, event_type: 'alerts', target_id: command })).status, 400);
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: session.body.channel_id, event_type: 'command_output' })).status, 400);
      const shell = await call('POST', '/api/websh/sessions/', { server, rows: 24, cols: 80 });
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: session.body.channel_id, event_type: 'sudo', target_id: shell.body.id })).status, 201, 'the CLI subscribes its web shell to sudo requests');
      await client.close();
    });

    it("another organization's commands, servers and channels are a 404; another credential cannot subscribe a channel", async () => {
      const command = await runCommand('echo mine');
      const theirs = await connectedChannel(bob.session);
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: theirs.session.channel_id, event_type: 'command_output', target_id: command }, bob.session)).status, 404);
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: theirs.session.channel_id, event_type: 'command_fin', target_id: server }, bob.session)).status, 404);
      const mine = await connectedChannel();
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: mine.session.channel_id, event_type: 'command_fin', target_id: server }, bob.session)).status, 404);
      const sameUserOtherToken = await addToken(app, app.token, ['*']);
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: mine.session.channel_id, event_type: 'command_fin', target_id: server }, sameUserOtherToken.key)).status, 404);
      assert.equal((await call('POST', SESSIONS, {}, bob.session)).status, 201);
    });

    it("ends a channel once its user is deactivated", async () => {
      const dave = await addUser(app, 'events-dave', { role: 'admin' });
      const { client } = await connectedChannel(dave.session);
      assert.equal((await call('PATCH', `/api/iam/users/${dave.id}/`, { is_active: false })).status, 200);
      const closed = await bounded(client.closed, 'the channel to end');
      assert.equal(closed.code, 1008);
    });

    it('ends a channel once the token that opened it is revoked, and only that channel', async () => {
      const token = await addToken(app, app.token, ['*']);
      const { client } = await connectedChannel(token.key);
      const { client: untouched } = await connectedChannel();
      assert.equal((await call('DELETE', `/api/auth/tokens/${token.id}/`)).status, 204);
      const closed = await bounded(client.closed, 'the channel to end');
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /revoked/i);
      assert.equal(untouched.socket.readyState, WebSocket.OPEN, "another credential's channel stays open");
    });

    it('needs command:read: a token without it opens no channel; with it alone it follows output but runs nothing', async () => {
      const serversOnly = await addToken(app, app.token, ['server:read']);
      assert.equal((await call('POST', SESSIONS, {}, serversOnly.key)).status, 403);
      const reader = await addToken(app, app.token, ['command:read']);
      const { session, client } = await connectedChannel(reader.key);
      const command = await runCommand('sleep 1; echo read-only');
      assert.equal((await call('POST', SUBSCRIPTIONS, { channel: session.channel_id, event_type: 'command_output', target_id: command }, reader.key)).status, 201);
      await eventually('the output', async () => (client.messages.some((m) => m.payload.content === 'read-only\n') ? true : undefined), 30_000);
      assert.equal((await call('POST', '/api/events/commands/', { server, line: 'true' }, reader.key)).status, 403);
      await client.close();
    });
  });
}
