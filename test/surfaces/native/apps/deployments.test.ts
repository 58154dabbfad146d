import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { eventually } from '../../../support/eventually.ts';
import { addOrganization, addUser, type TestUser } from '../../../support/identity.ts';
import { viaRouter, viaRouterTls } from '../../../support/router.ts';
import { selfSigned } from '../../../support/certificates.ts';
import { sampleArchive } from '../../../support/sample-app.ts';
import { get, waitForTask } from '../compute/support.ts';

const APPS = '/api/apps/apps/';
const skip = computeSkipReason();

for (const database of testDatabases) {
  describe(`app deployments on real containers [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let stranger: TestUser;
    let id: string;
    const host = 'sample-shop.apps.localhost';

    before(async () => {
      app = await startComputeTestApp(database);
      stranger = await addUser(app, 'deploy-stranger', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') });
      const res = await app.request({ method: 'POST', url: APPS, payload: { name: 'sample-shop' } });
      assert.equal(res.statusCode, 201, res.body);
      id = res.json().id;
    });
    after(async () => {
      await app?.close();
    });

    const deploy = (body: Buffer, options: { token?: string; type?: string } = {}) =>
      app.request({ method: 'POST', url: `${APPS}sample-shop/deployments/`, payload: body, headers: { 'content-type': options.type ?? 'application/gzip' }, token: options.token });
    /** Deploys and waits for the deployment's end; its task must succeed or fail as expected. */
    const deployed = async (body: Buffer, expectSuccess = true) => {
      const res = await deploy(body);
      assert.equal(res.statusCode, 202, res.body);
      const wait = await app.request({ method: 'GET', url: `/api/tasks/tasks/${res.json().task}/wait/?timeout=180` });
      assert.equal(wait.json().status, expectSuccess ? 'succeeded' : 'failed', JSON.stringify(wait.json().error));
      return get(app, `${APPS}sample-shop/deployments/${res.json().id}/`);
    };
    const serving = async () => JSON.parse((await viaRouter(app, host)).body) as { version: string; container: string; greeting: string; built: string; headers: Record<string, string> };

    it('answers 503 with a clear page while nothing runs, and 404 for an unknown host', async () => {
      // The router reads its routes every moment: the new app is there within it.
      const none = await eventually('the route of the new app', async () => {
        const answer = await viaRouter(app, host);
        return answer.status === 404 ? undefined : answer;
      });
      assert.equal(none.status, 503);
      assert.match(none.body, /No process of the app sample-shop is running/);
      assert.equal((await viaRouter(app, 'nothing-here.apps.localhost')).status, 404);
    });

    it('deploys a Node.js app from a tarball, built in a container, and serves it through the router by Host', async () => {
      const deployment = await deployed(await sampleArchive({ version: 'v1', build: 'ok' }));
      assert.equal(deployment.status, 'success', deployment.error);
      const body = await serving();
      assert.equal(body.version, 'v1');
      assert.equal(body.built, 'built', 'npm run build ran');
      assert.equal(body.container, 'web-1');
      assert.equal(body.headers['x-forwarded-host'], host);
      assert.equal(body.headers['x-forwarded-proto'], 'http');
      assert.ok(body.headers['x-forwarded-for']);
      assert.ok(body.headers['x-request-id']);
      const shown = await get(app, `${APPS}sample-shop/`);
      assert.equal(shown.status, 'running');
      assert.ok(shown.last_deployed_at);
      const output = await app.request({ method: 'GET', url: `${APPS}sample-shop/deployments/${deployment.id}/output/` });
      assert.equal(output.statusCode, 200);
      assert.match(output.body, /npm run build/);
      assert.match(output.body, /event: finished\ndata: \{"status":"success"\}/);
      const formation = await get(app, `${APPS}sample-shop/formation/`);
      assert.deepEqual(formation.containers, [{ name: 'web', amount: 1, size: 'M' }, { name: 'worker', amount: 0, size: 'M' }]);
    });

    it('serves custom domains: by Host over HTTP, over HTTPS with the certificate SNI names, and redirects to HTTPS with force_https', async () => {
      const shop = selfSigned(['shop.example.com']);
      const www = selfSigned(['www.example.com']);
      for (const [name, certificate] of [['shop.example.com', shop], ['www.example.com', www], ['plain.example.com', undefined]] as const) {
        const res = await app.request({ method: 'POST', url: `${APPS}sample-shop/domains/`, payload: { name, ...(certificate ? { tls_cert: certificate.cert, tls_key: certificate.key } : {}) } });
        assert.equal(res.statusCode, 201, res.body);
      }
      const plain = await eventually('the custom domain routed', async () => {
        const answer = await viaRouter(app, 'plain.example.com');
        return answer.status === 200 ? answer : undefined;
      });
      assert.equal(JSON.parse(plain.body).headers['x-forwarded-proto'], 'http');
      // Each name gets its own certificate: trusting only that certificate, the handshake succeeds.
      for (const [name, certificate] of [['shop.example.com', shop], ['www.example.com', www]] as const) {
        const answer = await eventually(`HTTPS for ${name}`, () => viaRouterTls(app, name, certificate.cert, '/secure').catch(() => undefined));
        assert.equal(answer.status, 200);
        assert.equal(answer.subject, name);
        const seen = JSON.parse(answer.body) as { version: string; headers: Record<string, string> };
        assert.equal(seen.version, 'v1');
        assert.equal(seen.headers['x-forwarded-proto'], 'https');
        assert.equal(seen.headers['x-forwarded-host'], name);
      }
      await assert.rejects(viaRouterTls(app, 'plain.example.com', shop.cert), 'a name without a certificate gets no HTTPS');
      await assert.rejects(viaRouterTls(app, 'www.example.com', shop.cert), "another domain's certificate is not served for it");
      assert.equal((await app.request({ method: 'PATCH', url: `${APPS}sample-shop/`, payload: { force_https: true } })).statusCode, 200);
      const port = app.nimbus.router!.ports.https!;
      const redirected = await eventually('the redirect to HTTPS', async () => {
        const answer = await viaRouter(app, 'shop.example.com', '/a/path?q=1');
        return answer.status === 301 ? answer : undefined;
      });
      assert.equal(redirected.headers.location, `https://shop.example.com:${port}/a/path?q=1`);
      assert.equal((await viaRouter(app, 'plain.example.com')).status, 200, 'a domain without a certificate stays on HTTP');
      assert.equal((await viaRouterTls(app, 'shop.example.com', shop.cert)).status, 200);
      assert.equal((await app.request({ method: 'PATCH', url: `${APPS}sample-shop/`, payload: { force_https: false } })).statusCode, 200);
      // A removed domain is no longer routed.
      assert.equal((await app.request({ method: 'DELETE', url: `${APPS}sample-shop/domains/plain.example.com/` })).statusCode, 204);
      await eventually('the domain unrouted', async () => ((await viaRouter(app, 'plain.example.com')).status === 404 ? true : undefined));
    });

    it('scales web to 3 and spreads requests over the three', async () => {
      // The new processes must answer the health check path before they get traffic.
      assert.equal((await app.request({ method: 'PATCH', url: `${APPS}sample-shop/`, payload: { health_check_path: '/' } })).statusCode, 200);
      const res = await app.request({ method: 'POST', url: `${APPS}sample-shop/formation/`, payload: { containers: [{ name: 'web', amount: 3, size: 'S' }] } });
      assert.equal(res.statusCode, 202, res.body);
      await waitForTask(app, res.json().task);
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add((await serving()).container);
      assert.deepEqual([...seen].sort(), ['web-1', 'web-2', 'web-3']);
      const containers = (await get(app, `${APPS}sample-shop/containers/`)).containers;
      assert.equal(containers.filter((c: { state: string }) => c.state === 'up').length, 3);
    });

    it('sets variables in bulk as a new release that restarts nothing, and a restart brings them', async () => {
      const before = (await get(app, `${APPS}sample-shop/releases/`)).count;
      const bulk = await app.request({ method: 'PUT', url: `${APPS}sample-shop/variables/`, payload: { variables: [{ name: 'GREETING', value: 'hello' }, { name: 'OTHER', value: 'x' }] } });
      assert.equal(bulk.statusCode, 200, bulk.body);
      assert.equal((await get(app, `${APPS}sample-shop/releases/`)).count, before + 1);
      assert.equal((await serving()).greeting, '', 'nothing restarted');
      const bad = await app.request({ method: 'POST', url: `${APPS}sample-shop/variables/`, payload: { name: 'PORT', value: '1' } });
      assert.equal(bad.statusCode, 400);
      const restart = await app.request({ method: 'POST', url: `${APPS}sample-shop/restart/`, payload: {} });
      assert.equal(restart.statusCode, 202, restart.body);
      await waitForTask(app, restart.json().id);
      assert.equal((await serving()).greeting, 'hello');
    });

    it('runs a one-off command with the release and its variables, streams its output and records its exit code', async () => {
      const run = await app.request({ method: 'POST', url: `${APPS}sample-shop/runs/`, payload: { command: 'echo "greeting=$GREETING app=$APP"; ls /app/package.json; exit 3' } });
      assert.equal(run.statusCode, 202, run.body);
      assert.equal(run.json().status, 'queued');
      const wait = await app.request({ method: 'GET', url: `/api/tasks/tasks/${run.json().task}/wait/?timeout=120` });
      assert.equal(wait.json().status, 'succeeded', JSON.stringify(wait.json().error));
      const done = await get(app, `${APPS}sample-shop/runs/${run.json().id}/`);
      assert.equal(done.status, 'failed');
      assert.equal(done.exit_code, 3);
      const output = await app.request({ method: 'GET', url: `${APPS}sample-shop/runs/${run.json().id}/output/` });
      assert.match(output.body, /greeting=hello app=sample-shop/);
      assert.match(output.body, /\/app\/package.json/);
      assert.match(output.body, /event: finished\ndata: \{"status":"failed"\}/);
      assert.equal((await get(app, `${APPS}sample-shop/runs/`)).count, 1);
      const types = (await get(app, `/api/events/events/?resource=app:${id}&page_size=100`)).results.map((e: { type: string }) => e.type);
      assert.ok(types.includes('app.run') && types.includes('app.run_finished'));
      // Bad input changes nothing; another organization's app is a 404.
      assert.equal((await app.request({ method: 'POST', url: `${APPS}sample-shop/runs/`, payload: { command: '' } })).statusCode, 400);
      assert.equal((await app.request({ method: 'POST', url: `${APPS}sample-shop/runs/`, payload: { command: 'true', size: 'HUGE' } })).statusCode, 400);
      assert.equal((await app.request({ method: 'POST', url: `${APPS}sample-shop/runs/`, payload: { command: 'true' }, token: stranger.session })).statusCode, 404);
      assert.equal((await app.request({ method: 'GET', url: `${APPS}sample-shop/runs/${run.json().id}/`, token: stranger.session })).statusCode, 404);
      assert.equal((await get(app, `${APPS}sample-shop/runs/`)).count, 1);
    });

    it('keeps the running release when a build fails, and deploys a new one under load without a failed request', async () => {
      const failed = await deployed(await sampleArchive({ version: 'v2', build: 'fail' }), false);
      assert.equal(failed.status, 'build-error');
      assert.equal((await serving()).version, 'v1');
      let stop = false;
      const failures: string[] = [];
      let requests = 0;
      const load = (async () => {
        while (!stop) {
          const answer = await viaRouter(app, host).catch((error: Error) => ({ status: 0, body: error.message }));
          requests += 1;
          if (answer.status !== 200) failures.push(`${answer.status} ${answer.body.slice(0, 80)}`);
        }
      })();
      const next = await deployed(await sampleArchive({ version: 'v3' }));
      stop = true;
      await load;
      assert.equal(next.status, 'success', next.error);
      assert.equal((await serving()).version, 'v3');
      assert.ok(requests > 10, `${requests} requests`);
      assert.deepEqual(failures, []);
    });

    it('restarts a process that dies, with a crash event, and logs the processes and the router', async () => {
      const res = await app.request({ method: 'POST', url: `${APPS}sample-shop/formation/`, payload: { containers: [{ name: 'web', amount: 1 }] } });
      await waitForTask(app, res.json().task);
      await viaRouter(app, host, '/crash');
      await eventually('the crash event', async () => ((await get(app, `/api/events/events/?resource=app:${id}&type=app.crash`)).results.length === 1 ? true : undefined), 20_000);
      await eventually('web-1 serving again', async () => ((await viaRouter(app, host)).status === 200 ? true : undefined), 30_000);
      const lines = (await get(app, `${APPS}sample-shop/logs/?n=500`)).lines as { source: string; line: string }[];
      assert.ok(lines.some((l) => l.source === 'web-1' && /listening on 5000/.test(l.line)), 'process output');
      assert.ok(lines.some((l) => l.source === 'router' && /"GET \/crash HTTP\/1.1" 200/.test(l.line)), 'router access lines');
      assert.ok(lines.some((l) => l.source === 'platform' && /web-1 exited/.test(l.line)));
    });

    it('rolls back to an earlier release', async () => {
      const releases = (await get(app, `${APPS}sample-shop/releases/?page_size=50`)).results as { version: number; deployment: string | null }[];
      const first = releases.filter((r) => r.deployment).at(-1)!;
      const res = await app.request({ method: 'POST', url: `${APPS}sample-shop/rollback/`, payload: { version: first.version } });
      assert.equal(res.statusCode, 202, res.body);
      await waitForTask(app, res.json().id);
      assert.equal((await serving()).version, 'v1');
    });

    it('refuses bad archives and Procfiles with a clear error, changing nothing', async () => {
      const count = async () => (await get(app, `${APPS}sample-shop/deployments/`)).count;
      const before = await count();
      const notArchive = await deploy(Buffer.from('definitely not a tarball\n'.repeat(40)));
      assert.equal(notArchive.statusCode, 400, notArchive.body);
      assert.match(notArchive.json().source[0], /not a readable tar archive/);
      const noWeb = await deploy(await sampleArchive({ procfile: 'worker: node server.js\n' }));
      assert.equal(noWeb.statusCode, 400);
      assert.match(noWeb.json().source[0], /no "web" process/);
      const tooBig = await deploy(Buffer.alloc(5 * 1024 * 1024, 1));
      assert.equal(tooBig.statusCode, 413, tooBig.body);
      const wrongType = await deploy(await sampleArchive(), { type: 'application/json' });
      assert.ok([400, 415].includes(wrongType.statusCode), wrongType.body);
      const foreign = await deploy(await sampleArchive(), { token: stranger.session });
      assert.equal(foreign.statusCode, 404);
      assert.equal((await app.request({ method: 'GET', url: `${APPS}sample-shop/logs/`, token: stranger.session })).statusCode, 404);
      assert.equal(await count(), before);
      assert.equal((await serving()).version, 'v1');
    });

    it('deletes the app and leaves no container, mount, veth or file', async () => {
      const containers = (await get(app, `${APPS}sample-shop/containers/`)).containers as { id: string }[];
      const res = await app.request({ method: 'DELETE', url: `${APPS}sample-shop/` });
      assert.equal(res.statusCode, 202);
      await waitForTask(app, res.json().id);
      assert.equal((await viaRouter(app, host)).status, 404);
      const { hostLeftovers } = await import('../../../support/host-leftovers.ts');
      const root = (app.nimbus as unknown as { config: { computeDir?: string } }).config.computeDir!;
      // The router's own configuration names the app no more (nor does anything else under the root).
      assert.ok(!fs.readFileSync(path.join(root, 'router', 'nginx.conf'), 'utf8').includes('sample-shop'));
      const left = hostLeftovers(root, { servers: containers.map((c) => c.id) }, ['images', 'apps/stacks', 'apps/runc', 'router']).filter((thing) => !/\/apps\/(stacks|runc)\//.test(thing) && !/\/(networks|runc)\//.test(thing));
      assert.deepEqual(left, []);
    });
  });
}
