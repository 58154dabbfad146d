import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { sampleArchive } from '../../support/sample-app.ts';
import { JsonSocket, within } from './sockets.ts';
import { acmeAndGlobex, notFound, plainError, scalingo, viaLink } from './support.ts';

const skip = computeSkipReason();
const FINISHED = ['success', 'build-error', 'crashed-error', 'timeout-error', 'aborted'];

for (const database of testDatabases) {
  describe(`Scalingo live: the deployments stream, a collaborator's operations [${database.name}]`, { skip: skip ?? false, timeout: 600_000 }, () => {
    let app: TestApp;
    let base: string;
    let alice: string; // admin of Acme, whose app live-deploy-app is
    let bob: string; // admin of Globex
    let carol: string; // member of Globex, a collaborator of live-deploy-app
    let carolCollaborator: string;
    let appId: string;
    let streamUrl: string;
    const sockets: JsonSocket[] = [];

    before(async () => {
      app = await startComputeTestApp(database);
      base = (await app.nimbus.listeners.listen('127.0.0.1', 0)).replace('localhost', '127.0.0.1');
      ({ alice, bob, carol } = await acmeAndGlobex(app));
      appId = (await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'live-deploy-app' } })).json().app.id;
      const invited = (await scalingo(app, alice, 'POST', '/v1/apps/live-deploy-app/collaborators', { collaborator: { email: 'carol@example.com' } })).json().collaborator;
      carolCollaborator = invited.id;
      assert.equal((await scalingo(app, carol, 'GET', `/v1/apps/collaboration${new URL(invited.invitation_link).search}`)).statusCode, 200);
    });
    after(async () => {
      await Promise.all(sockets.map((s) => s.close()));
      await app?.close();
    });

    /** The app's deployments stream as the clients open it: dial links.deployments_stream, then authenticate in the first message. */
    const openStream = async (bearer: string | null) => {
      const { pathname } = new URL(streamUrl);
      const socket = new JsonSocket(`${base.replace(/^http/, 'ws')}${pathname}`, { origin: 'http://scalingo-cli.local/1' });
      sockets.push(socket);
      await within(socket.opened, 10_000, 'the deployments stream to open');
      if (bearer !== null) socket.send({ type: 'auth', data: { token: bearer } });
      return socket;
    };

    const deploy = async (credential: string, version: string) => {
      const source = (await scalingo(app, credential, 'POST', '/v1/sources')).json().source;
      assert.equal((await viaLink(app, source.upload_url, 'PUT', await sampleArchive({ version }))).statusCode, 200);
      const res = await scalingo(app, credential, 'POST', '/v1/apps/live-deploy-app/deployments', { deployment: { source_url: source.download_url } });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().deployment as { id: string };
    };

    it('gives links.deployments_stream, a ws:// URL of this surface, on the app', async () => {
      const shown = (await scalingo(app, alice, 'GET', '/v1/apps/live-deploy-app')).json().app;
      streamUrl = shown.links.deployments_stream;
      assert.match(streamUrl, new RegExp(`^ws://localhost(:\\d+)?/compat/scalingo/v1/apps/${appId}/deployments/stream$`));
      assert.equal((await scalingo(app, carol, 'GET', '/v1/apps')).json().apps[0].links.deployments_stream, streamUrl);
      plainError(await scalingo(app, alice, 'GET', `/v1/apps/${appId}/deployments/stream`), 426);
    });

    it('streams a deployment as it happens: new (with its pusher), its build output as log events, then each status to success', async () => {
      const socket = await openStream(alice);
      const deployment = await deploy(alice, 'streamed');
      const created = await socket.receive('the new deployment', (m) => m.type === 'new', 30_000);
      assert.equal(created.id, deployment.id);
      assert.equal(created.data.deployment.id, deployment.id);
      assert.equal(created.data.deployment.pusher.username, 'alice');
      const end = await socket.receive('the deployment to end', (m) => m.type === 'status' && FINISHED.includes(m.data.status), 240_000);
      assert.equal(end.data.status, 'success', JSON.stringify(socket.messages.filter((m) => m.type !== 'log')));
      const logs = socket.messages.filter((m) => m.type === 'log');
      assert.ok(logs.length > 0 && logs.every((m) => m.id === deployment.id && typeof m.data.content === 'string'));
      assert.match(logs.map((m) => m.data.content).join(''), /npm/);
      const statuses = socket.messages.filter((m) => m.type === 'status').map((m) => m.data.status);
      assert.ok(statuses.includes('building'), statuses.join(' '));
      // Every log of the build comes before its end.
      const lastLog = socket.messages.map((m) => m.type).lastIndexOf('log');
      assert.ok(socket.messages.indexOf(end) > lastLog);
      await socket.close();
    });

    it('shows a deployment made just before the stream was opened from its start, as the CLI deploys then follows', async () => {
      const latest = (await scalingo(app, alice, 'GET', '/v1/apps/live-deploy-app/deployments')).json().deployments[0];
      const socket = await openStream(carol);
      const shown = await socket.receive('the recent deployment', (m) => m.type === 'status' && m.id === latest.id);
      assert.equal(shown.data.status, 'success');
      assert.ok(socket.messages.some((m) => m.type === 'new' && m.id === latest.id));
      assert.ok(socket.messages.some((m) => m.type === 'log' && m.id === latest.id));
      await socket.close();
    });

    it("refuses a stream without its auth message, with a bad token, or to another organization's app (closed with 1008)", async () => {
      const garbage = await openStream(null);
      garbage.socket.send('{"type": "hello"}');
      const refused = await within(garbage.closed, 5_000, 'the close');
      assert.equal(refused.code, 1008);
      assert.match(refused.reason, /auth/);
      for (const bearer of ['not-a-token', bob]) {
        const socket = await openStream(bearer);
        const closed = await within(socket.closed, 5_000, 'the close');
        assert.equal(closed.code, 1008, bearer);
        assert.ok(!socket.messages.length);
      }
    });

    it("lets a collaborator scale, restart and read the app's operations; another organization reads none", async () => {
      const scaled = await scalingo(app, carol, 'POST', '/v1/apps/live-deploy-app/scale', { containers: [{ name: 'web', amount: 2 }] });
      assert.equal(scaled.statusCode, 202, scaled.body);
      const operation = new URL(String(scaled.headers.location)).pathname.replace('/compat/scalingo', '');
      const shown = await scalingo(app, carol, 'GET', operation);
      assert.equal(shown.statusCode, 200, shown.body);
      assert.equal(shown.json().operation.type, 'scale');
      assert.equal((await scalingo(app, alice, 'GET', operation)).json().operation.id, shown.json().operation.id);
      notFound(await scalingo(app, bob, 'GET', operation), 'app');
      // Bob's own task is no operation of this app.
      const restarted = await scalingo(app, carol, 'POST', '/v1/apps/live-deploy-app/restart', { scope: ['web'] });
      assert.equal(restarted.statusCode, 202, restarted.body);
      const restart = new URL(String(restarted.headers.location)).pathname.replace('/compat/scalingo', '');
      assert.equal((await scalingo(app, carol, 'GET', restart)).json().operation.type, 'restart');
      notFound(await scalingo(app, carol, 'GET', `/v1/apps/live-deploy-app/operations/${appId}`), 'operation');
    });

    it("ends a collaborator's deployments stream, and the operations it read, once the collaborator is removed", async () => {
      const socket = await openStream(carol);
      // Authenticated and following: still open after its access has been checked again.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(socket.socket.readyState, socket.socket.OPEN);
      assert.equal((await scalingo(app, alice, 'DELETE', `/v1/apps/live-deploy-app/collaborators/${carolCollaborator}`)).statusCode, 204);
      const closed = await within(socket.closed, 10_000, 'the stream to end');
      assert.equal(closed.code, 1008);
      notFound(await scalingo(app, carol, 'GET', '/v1/apps/live-deploy-app/deployments'), 'app');
    });
  });
}
