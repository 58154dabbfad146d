import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { exchange, invalid, notFound, plainError, scalingo, scalingoToken, viaLink } from './support.ts';

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC \[[\w-]+\] /;

for (const database of testDatabases) {
  describe(`Scalingo logs: logs_url and the lines it reads [${database.name}]`, () => {
    let app: TestApp;
    let alice: string;
    let bob: string;
    let viewer: string;
    let labs: string;
    let appId: string;

    before(async () => {
      app = await startTestApp(database);
      const acme = await addOrganization(app, 'Acme');
      const admin = await addUser(app, 'alice', { role: 'admin', organization: acme });
      labs = await addOrganization(app, 'Acme Labs', { token: admin.session });
      await addUser(app, 'bob', { role: 'admin', organization: await addOrganization(app, 'Globex') });
      await addUser(app, 'victor', { role: 'viewer', token: admin.session });
      alice = await exchange(app, await scalingoToken(app, 'alice', GOOD_PASSWORD));
      bob = await exchange(app, await scalingoToken(app, 'bob', GOOD_PASSWORD));
      viewer = await exchange(app, await scalingoToken(app, 'victor', GOOD_PASSWORD));
      appId = (await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'logging-app' } })).json().app.id;
      assert.equal((await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'silent-app' } })).statusCode, 201);
      // What the supervisor and the router write as the app runs.
      await app.nimbus.services.apps.logs.append(appId, [
        ...Array.from({ length: 25 }, (_, i) => ({ source: i % 2 ? 'web-1' : 'web-2', line: `request ${i}` })),
        { source: 'worker-1', line: 'job done' },
        { source: 'router', line: 'GET / 200' },
      ]);
    });
    after(() => app.close());

    const logsUrl = async (credential: string, ref = 'logging-app') => {
      const res = await scalingo(app, credential, 'GET', `/v1/apps/${ref}/logs`);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { app: { id: string; name: string }; logs_url: string };
    };

    it('gives the app and an absolute logs_url with its token and timestamp, to whoever may read the app', async () => {
      const { app: shown, logs_url: url } = await logsUrl(alice);
      assert.equal(shown.name, 'logging-app');
      assert.match(url, new RegExp(`^http://localhost(:\\d+)?/compat/scalingo/v1/apps/${appId}/logs/lines\\?token=[\\w.-]+&timestamp=\\d+$`));
      assert.ok(Number(new URL(url).searchParams.get('timestamp')) > Date.now() / 1000);
      assert.equal((await logsUrl(viewer)).app.id, appId);
    });

    it('reads the last 20 lines without a credential, or n of them, or those of one process type or process', async () => {
      const { logs_url: url } = await logsUrl(alice);
      const all = await viaLink(app, `${url}&stream=false`);
      assert.equal(all.statusCode, 200, all.body);
      assert.match(all.headers['content-type'] as string, /^text\/plain/);
      const lines = all.body.trimEnd().split('\n');
      assert.equal(lines.length, 20);
      for (const line of lines) assert.match(line, LINE);
      assert.match(lines.at(-1)!, /\[router\] GET \/ 200$/);
      assert.deepEqual((await viaLink(app, `${url}&n=2`)).body.trimEnd().split('\n').map((l) => l.split(' ').slice(4).join(' ')), ['[worker-1] job done', '[router] GET / 200']);
      const web = (await viaLink(app, `${url}&n=100&filter=web`)).body.trimEnd().split('\n');
      assert.equal(web.length, 25);
      assert.ok(web.every((l) => /\[web-[12]\]/.test(l)));
      assert.equal((await viaLink(app, `${url}&n=100&filter=web-1`)).body.trimEnd().split('\n').length, 12);
      assert.equal((await viaLink(app, `${url}&filter=worker`)).body.trimEnd(), (await viaLink(app, `${url}&n=2`)).body.split('\n')[0]);
      // An app that has logged nothing: no content.
      assert.equal((await viaLink(app, (await logsUrl(alice, 'silent-app')).logs_url)).statusCode, 204);
    });

    it("refuses a URL for another app, an altered token, and bad parameters, in Scalingo's shapes", async () => {
      const { logs_url: url } = await logsUrl(alice);
      const silent = (await logsUrl(alice, 'silent-app')).app.id;
      plainError(await viaLink(app, url.replace(appId, silent)), 401);
      plainError(await viaLink(app, url.replace(/token=(.)/, (_m, c: string) => `token=${c === 'A' ? 'B' : 'A'}`)), 401);
      plainError(await viaLink(app, url.replace(/token=[^&]*/, 'token=')), 401);
      // Following is a WebSocket (logs-stream.test.ts): a plain request asking for it is told to upgrade.
      plainError(await viaLink(app, `${url}&stream=true`), 426);
      for (const n of ['0', 'abc', '100000', '-3']) assert.deepEqual(Object.keys(invalid(await viaLink(app, `${url}&n=${n}`))), ['n'], n);
      assert.deepEqual(Object.keys(invalid(await viaLink(app, `${url}&filter=${encodeURIComponent('web%')}`))), ['filter']);
    });

    it("answers 404 for another organization's app, and a URL stops working once its app leaves the organization", async () => {
      notFound(await scalingo(app, bob, 'GET', '/v1/apps/logging-app/logs'), 'app');
      notFound(await scalingo(app, bob, 'GET', `/v1/apps/${appId}/logs`), 'app');
      plainError(await scalingo(app, null, 'GET', '/v1/apps/logging-app/logs'), 401);
      const { logs_url: url } = await logsUrl(alice);
      assert.equal((await scalingo(app, alice, 'PATCH', '/v1/apps/logging-app', { app: { owner: labs } })).statusCode, 200);
      notFound(await viaLink(app, url), 'app');
      assert.equal((await viaLink(app, (await logsUrl(alice)).logs_url)).statusCode, 200);
    });
  });
}
