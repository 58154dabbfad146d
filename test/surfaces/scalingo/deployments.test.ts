import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { sampleArchive } from '../../support/sample-app.ts';
import { acmeAndGlobex, invalid, ISO_WITH_MS, notFound, plainError, scalingo, viaLink } from './support.ts';

const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`Scalingo deployments from sources (as scalingo deploy makes them) and one-off runs [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let alice: string;
    let bob: string;
    let viewer: string;
    let archive: Buffer;

    before(async () => {
      app = await startComputeTestApp(database);
      ({ alice, bob, victor: viewer } = await acmeAndGlobex(app));
      assert.equal((await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'source-app' } })).statusCode, 201);
      archive = await sampleArchive({ version: 'from-source' });
    });
    after(async () => {
      await app?.close();
    });

    const newSource = async (credential: string) => {
      const res = await scalingo(app, credential, 'POST', '/v1/sources');
      assert.equal(res.statusCode, 201, res.body);
      return res.json().source as { upload_url: string; download_url: string };
    };

    it('gives upload and download URLs; the archive is PUT without a credential and read back as it was', async () => {
      const source = await newSource(alice);
      assert.deepEqual(Object.keys(source).sort(), ['download_url', 'upload_url']);
      for (const url of Object.values(source)) assert.match(url, /^http:\/\/localhost(:\d+)?\/compat\/scalingo\/v1\/sources\/[0-9a-f-]{36}\/(upload|download)\?token=/);
      // Nothing uploaded yet: nothing to read.
      notFound(await viaLink(app, source.download_url, 'GET'), 'source');
      const put = await viaLink(app, source.upload_url, 'PUT', archive);
      assert.equal(put.statusCode, 200, put.body);
      const read = await viaLink(app, source.download_url, 'GET');
      assert.equal(read.statusCode, 200);
      assert.ok(read.rawPayload.equals(archive));
    });

    it('refuses a URL whose token is altered, of another source, or of the other purpose', async () => {
      const source = await newSource(alice);
      const other = await newSource(alice);
      const tampered = source.upload_url.replace(/token=(.)/, (_m, c: string) => `token=${c === 'A' ? 'B' : 'A'}`);
      notFound(await viaLink(app, tampered, 'PUT', archive), 'source');
      // The download URL cannot upload, nor one source's token serve another.
      notFound(await viaLink(app, source.download_url.replace('/download?', '/upload?'), 'PUT', archive), 'source');
      notFound(await viaLink(app, source.upload_url.replace(/token=.*/, other.upload_url.split('token=')[1]!), 'PUT', archive), 'source');
      notFound(await viaLink(app, source.upload_url.replace(/\?token=.*/, ''), 'PUT', archive), 'source');
      plainError(await scalingo(app, null, 'POST', '/v1/sources'), 401);
      plainError(await scalingo(app, viewer, 'POST', '/v1/sources'), 403);
    });

    it('refuses an archive over the size limit (413) and keeps what was uploaded before', async () => {
      const source = await newSource(alice);
      assert.equal((await viaLink(app, source.upload_url, 'PUT', archive)).statusCode, 200);
      plainError(await viaLink(app, source.upload_url, 'PUT', Buffer.alloc(5 * 1024 * 1024, 1)), 413);
      assert.ok((await viaLink(app, source.download_url, 'GET')).rawPayload.equals(archive));
    });

    it('deploys from the download URL with a git_ref: 201 with the queued deployment, built through to success', async () => {
      const source = await newSource(alice);
      await viaLink(app, source.upload_url, 'PUT', archive);
      const res = await scalingo(app, alice, 'POST', '/v1/apps/source-app/deployments', { deployment: { source_url: source.download_url, git_ref: 'v1.2.0' } });
      assert.equal(res.statusCode, 201, res.body);
      const { deployment } = res.json();
      assert.equal(deployment.status, 'queued');
      assert.equal(deployment.git_ref, 'v1.2.0');
      assert.equal(deployment.pusher.username, 'alice');
      assert.match(deployment.created_at, ISO_WITH_MS);
      assert.match(deployment.links.output, new RegExp(`/compat/scalingo/v1/apps/${deployment.app_id}/deployments/${deployment.id}/output$`));
      const done = await eventually('the deployment to finish', async () => {
        const shown = (await scalingo(app, alice, 'GET', `/v1/apps/source-app/deployments/${deployment.id}`)).json().deployment;
        return ['queued', 'building', 'pushing', 'starting'].includes(shown.status) ? undefined : shown;
      }, 180_000);
      assert.equal(done.status, 'success', done.error);
      const output = await scalingo(app, alice, 'GET', `/v1/apps/source-app/deployments/${deployment.id}/output`);
      assert.match(output.headers['content-type'] as string, /^text\/plain/);
      assert.match(output.body, /npm/);
      const listed = (await scalingo(app, alice, 'GET', '/v1/apps/source-app/deployments')).json();
      assert.deepEqual(listed.deployments.map((d: { id: string }) => d.id), [deployment.id]);
      assert.equal(listed.meta.pagination.total_count, 1);
    });

    it("refuses what it must not fetch or may not use, in Scalingo's shapes, and makes no deployment", async () => {
      const mine = await newSource(alice);
      await viaLink(app, mine.upload_url, 'PUT', archive);
      const theirs = await newSource(bob);
      await viaLink(app, theirs.upload_url, 'PUT', archive);
      const empty = await newSource(alice);
      const deploy = (credential: string, deployment: unknown, ref = 'source-app') => scalingo(app, credential, 'POST', `/v1/apps/${ref}/deployments`, { deployment });
      assert.deepEqual(invalid(await scalingo(app, alice, 'POST', '/v1/apps/source-app/deployments', {})), { deployment: ['missing field'] });
      assert.deepEqual(invalid(await deploy(alice, {})), { source_url: ['missing field'] });
      // Another address is never reached: the metadata service, the loopback, another host.
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:5432/', 'https://example.com/app.tar.gz', 'file:///etc/passwd', 'not a url']) {
        assert.deepEqual(Object.keys(invalid(await deploy(alice, { source_url: url }))), ['source_url'], url);
      }
      assert.deepEqual(Object.keys(invalid(await deploy(alice, { source_url: theirs.download_url }))), ['source_url']);
      assert.deepEqual(Object.keys(invalid(await deploy(alice, { source_url: mine.upload_url.replace('/upload?', '/download?') }))), ['source_url']);
      assert.deepEqual(Object.keys(invalid(await deploy(alice, { source_url: empty.download_url }))), ['source_url']);
      assert.deepEqual(Object.keys(invalid(await deploy(alice, { source_url: mine.download_url, git_ref: '-rf' }))), ['git_ref']);
      assert.deepEqual(Object.keys(invalid(await deploy(alice, { source_url: 42 }))), ['source_url']);
      plainError(await deploy(viewer, { source_url: mine.download_url }), 403);
      notFound(await deploy(bob, { source_url: theirs.download_url }), 'app');
      notFound(await scalingo(app, bob, 'GET', '/v1/apps/source-app/deployments'), 'app');
      assert.equal((await scalingo(app, alice, 'GET', '/v1/apps/source-app/deployments')).json().meta.pagination.total_count, 1);
    });

    it('runs a one-off command detached: the container, and the operation that is done once it has run', async () => {
      const res = await scalingo(app, alice, 'POST', '/v1/apps/source-app/run', { command: 'echo one-off-ran', size: 'S', detached: true, env: {} });
      assert.equal(res.statusCode, 200, res.body);
      const { container, operation_url: operationUrl, ...rest } = res.json();
      assert.deepEqual(rest, {}, 'no attach_url: nothing is attached');
      assert.equal(container.command, 'echo one-off-ran');
      assert.equal(container.type, 'one-off');
      assert.equal(container.app.name, 'source-app');
      assert.equal(container.size, 'S');
      assert.match(container.created_at, ISO_WITH_MS);
      const { pathname } = new URL(operationUrl);
      const operation = await eventually('the run to end', async () => {
        const shown = (await app.nimbus.http.inject({ method: 'GET', url: pathname, headers: { authorization: `Bearer ${alice}` } })).json().operation;
        return ['pending', 'running'].includes(shown.status) ? undefined : shown;
      }, 120_000);
      assert.deepEqual([operation.type, operation.status], ['run', 'done']);
      // Its output is kept with the run (the native API's runs).
      const output = await app.request({ method: 'GET', url: `/api/apps/apps/source-app/runs/${container.id}/`, token: null, headers: { authorization: `Bearer ${alice}` } });
      assert.equal(output.json().exit_code, 0, output.body);
    });

    it("runs a one-off command with env, variables of that run alone over the app's, sealed at rest", async () => {
      const res = await scalingo(app, alice, 'POST', '/v1/apps/source-app/run', { command: 'test "$RUN_GREETING" = "hello env" && test "$CLIENT_OS" = linux', detached: true, env: { RUN_GREETING: 'hello env', CLIENT_OS: 'linux', TERM: '' } });
      assert.equal(res.statusCode, 200, res.body);
      const { container } = res.json();
      const stored = await app.nimbus.store.db.selectFrom('app_runs').select('env_sealed').where('id', '=', container.id).executeTakeFirstOrThrow();
      assert.ok(stored.env_sealed && !stored.env_sealed.includes('hello'), 'the run\'s variables are sealed at rest');
      const done = await eventually('the run to end', async () => {
        const shown = await app.request({ method: 'GET', url: `/api/apps/apps/source-app/runs/${container.id}/`, token: null, headers: { authorization: `Bearer ${alice}` } });
        return ['queued', 'running'].includes(shown.json().status) ? undefined : (shown.json() as { exit_code: number });
      }, 120_000);
      assert.equal(done.exit_code, 0, JSON.stringify(done));
    });

    it("refuses runs it cannot make, in Scalingo's shapes, and starts none", async () => {
      const run = (credential: string, body: unknown, ref = 'source-app') => scalingo(app, credential, 'POST', `/v1/apps/${ref}/run`, body);
      assert.deepEqual(Object.keys(invalid(await run(alice, { command: 'ls', detached: 'yes' }))), ['detached']);
      for (const env of [{ '1BAD': 'x' }, 'A=1', { A: 5 }, { PORT: '80' }, ['A']]) assert.deepEqual(Object.keys(invalid(await run(alice, { command: 'ls', detached: true, env }))), ['env'], JSON.stringify(env));
      assert.deepEqual(Object.keys(invalid(await run(alice, { detached: true }))), ['command']);
      assert.deepEqual(Object.keys(invalid(await run(alice, { command: 42, detached: true }))), ['command']);
      assert.deepEqual(Object.keys(invalid(await run(alice, { command: 'ls', size: 'HUGE', detached: true }))), ['size']);
      plainError(await run(viewer, { command: 'ls', detached: true }), 403);
      notFound(await run(bob, { command: 'ls', detached: true }), 'app');
      const runs = await app.request({ method: 'GET', url: '/api/apps/apps/source-app/runs/', token: null, headers: { authorization: `Bearer ${alice}` } });
      assert.equal(runs.json().count, 2, runs.body);
    });

    it('deletes the deployed app: its task stops its processes, then it is not found', async () => {
      assert.equal((await scalingo(app, alice, 'DELETE', '/v1/apps/source-app?current_name=source-app')).statusCode, 204);
      await eventually('the app to be gone', async () => ((await scalingo(app, alice, 'GET', '/v1/apps/source-app')).statusCode === 404 ? true : undefined), 120_000);
    });
  });
}
