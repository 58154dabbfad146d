import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
// Before the client: it takes the global WebSocket as it loads.
import '../support/websocket-global.ts';
import { clientFromToken, type Client } from 'scalingo';
import type { TestApp } from '../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../support/compute.ts';
import { testDatabases } from '../support/databases.ts';
import { eventually } from '../support/eventually.ts';
import { addUser, GOOD_PASSWORD } from '../support/identity.ts';
import { sampleArchive } from '../support/sample-app.ts';
import { scalingoToken } from '../surfaces/scalingo/support.ts';

/**
 * The npm client `scalingo` (a pinned dev dependency) against the Scalingo surface over real
 * HTTP and real containers: the token exchange, the user, an app, its environment in bulk, a
 * deployment from an uploaded source, scaling and restarting with the operations it follows,
 * its deployment and its logs followed with the client's listeners (WebSockets), its logs, a
 * one-off run, its events page by page, and its end.
 */
const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`the npm client scalingo against the Scalingo surface [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let client: Client;
    let appId: string;
    let base: string;
    const listeners: { close(): void }[] = [];

    before(async () => {
      app = await startComputeTestApp(database);
      await addUser(app, 'jsdev', { role: 'admin' });
      await app.nimbus.http.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.nimbus.http.server.address() as AddressInfo).port}/compat/scalingo`;
      client = await clientFromToken(await scalingoToken(app, 'jsdev', GOOD_PASSWORD), { apiUrl: base, authApiUrl: base });
    });
    after(async () => {
      for (const listener of listeners) listener.close();
      await app?.close();
    });

    it('exchanges its token and reads the user', async () => {
      assert.match(client._token, /^eyJ/);
      assert.equal((await client.Users.self()).username, 'jsdev');
    });

    it('creates an app and sets its environment in bulk', async () => {
      const created = await client.Apps.create({ name: 'js-client-app' });
      appId = created.id;
      assert.equal(created.name, 'js-client-app');
      assert.deepEqual((await client.Apps.all()).map((a) => a.name), ['js-client-app']);
      assert.equal((await client.Apps.find('js-client-app')).id, appId);
      const variables = await client.Environment.bulkUpdate(appId, [{ name: 'GREETING', value: 'hello' }, { name: 'VERSION', value: 'js' }]);
      assert.deepEqual(variables.map((v) => [v.name, v.value]), [['GREETING', 'hello'], ['VERSION', 'js']]);
    });

    it('scales the deployed sample app and restarts it, following each operation to done', async () => {
      // As `scalingo deploy <archive>` does: a source, the archive PUT to its upload URL, a deployment of its download URL.
      const made = await fetch(`${base}/v1/sources`, { method: 'POST', headers: { authorization: `Bearer ${client._token}` } });
      assert.equal(made.status, 201);
      const { source } = (await made.json()) as { source: { upload_url: string; download_url: string } };
      const upload = await fetch(source.upload_url, { method: 'PUT', body: new Uint8Array(await sampleArchive()), headers: { 'content-type': 'application/x-gzip' } });
      assert.equal(upload.status, 200);
      // The client's deployments listener: links.deployments_stream, authenticated by its first message.
      const deploying = await client.Apps.deploymentListener(appId);
      listeners.push(deploying);
      const heard: { kind: string; id?: string; status?: string; content?: string }[] = [];
      // Each handler gets the event's data with the deployment's id added.
      const fields = (event: unknown) => event as { id: string; content?: string; status?: string };
      deploying.onNew((event) => void heard.push({ kind: 'new', id: fields(event).id }));
      deploying.onLog((event) => void heard.push({ kind: 'log', id: fields(event).id, content: fields(event).content }));
      deploying.onStatus((event) => void heard.push({ kind: 'status', id: fields(event).id, status: fields(event).status }));
      const queued = await client.Deployments.create(appId, { source_url: source.download_url, git_ref: 'main' });
      assert.equal(queued.git_ref, 'main');
      await eventually('the deployment to finish', async () => {
        const { status } = await client.Deployments.find(appId, queued.id);
        return ['queued', 'building', 'pushing', 'starting'].includes(status) ? undefined : status;
      }, 180_000);

      const [deployment] = (await client.Deployments.for(appId, {})).deployments;
      assert.equal(deployment.status, 'success');
      await eventually('the listener to hear the deployment succeed', async () => (heard.some((e) => e.kind === 'status' && e.status === 'success') ? true : undefined), 10_000);
      assert.ok(heard.some((e) => e.kind === 'new' && e.id === queued.id), JSON.stringify(heard.filter((e) => e.kind !== 'log')));
      assert.match(heard.filter((e) => e.kind === 'log' && e.id === queued.id).map((e) => e.content).join(''), /npm/);
      deploying.close();

      // The client's logs listener: the logs URL over a WebSocket, each new line as it is written.
      const following = await client.Logs.listenerFor(appId);
      listeners.push(following);
      const followed: string[] = [];
      following.onLog((line: string) => followed.push(line));
      assert.equal((await client.Deployments.find(appId, deployment.id)).id, deployment.id);
      assert.match(await client.Deployments.logs(appId, deployment.id), /npm/);

      const scaled = await client.Containers.scale(appId, [{ name: 'web', amount: 2, size: 'S' }]);
      assert.deepEqual(scaled.formation.find((c) => c.name === 'web'), { name: 'web', amount: 2, size: 'S' });
      assert.ok(scaled.operation, 'the answer links its operation');
      const done = await scaled.operation.wait();
      assert.equal(done.status, 'done');
      assert.equal(done.type, 'scale');
      const ps = await client.Containers.processes(appId);
      assert.equal(ps.filter((p: { type: string }) => p.type === 'web').length, 2);

      // Typed as one string, sent as given: Scalingo's scope is a list of process types.
      const restart = await client.Containers.restart(appId, ['web'] as unknown as string);
      assert.equal((await restart.wait()).status, 'done');
      // The restarted processes' first lines reach the listener as they are written.
      await eventually('the logs listener to hear the restarted app', async () => (followed.some((line) => /\[web-\d\] listening on/.test(line)) ? true : undefined), 60_000);
      following.close();

      // The logs URL is read without a credential, as the client does.
      const lines = await eventually('the app to have logged', async () => {
        const text = await client.Logs.for(appId, { count: 50 });
        return /\[web-\d\] listening on/.test(String(text)) ? String(text) : undefined;
      });
      assert.match(lines, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC \[/);
      const oneOff = await client.Containers.run(appId, { command: 'echo one-off', detached: true });
      assert.equal(oneOff.type, 'one-off');
    });

    it('reads the events page by page', async () => {
      // The client's types put the pagination fields at `meta`; the API (and its code) at `meta.pagination`.
      const page = async (number: number) => (await client.Events.for(appId, { page: number, per_page: 2 })) as unknown as { events: { type: string }[]; meta: { pagination: { current_page: number; total_pages: number; total_count: number } } };
      const first = await page(1);
      const { total_pages: pages, total_count: total } = first.meta.pagination;
      assert.ok(total >= 5, JSON.stringify(first.meta));
      const types: string[] = [];
      for (let number = 1; number <= pages; number++) {
        const { events, meta } = await page(number);
        assert.equal(meta.pagination.current_page, number);
        types.push(...events.map((e) => e.type));
      }
      assert.equal(types.length, total);
      for (const type of ['new_app', 'edit_variables', 'deployment', 'scale', 'restart']) assert.ok(types.includes(type), `${type} in ${types}`);
    });

    it('destroys the app', async () => {
      await client.Apps.destroy(appId, 'js-client-app');
      // Its task tears it down: then it is not found.
      const status = await eventually('the app to be gone', () => client.Apps.find('js-client-app').then(() => undefined, (error: { status: number }) => error.status), 120_000);
      assert.equal(status, 404);
    });
  });
}
