import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { exchange, invalid, ISO_WITH_MS, notFound, plainError, scalingo, scalingoToken } from './support.ts';

for (const database of testDatabases) {
  describe(`Scalingo apps API: apps, variables, events, operations [${database.name}]`, () => {
    let app: TestApp;
    let alice: string; // admin of Acme
    let bob: string; // admin of Globex
    let viewer: string; // viewer in Acme
    let acme: string;
    let labs: string;

    before(async () => {
      app = await startTestApp(database);
      acme = await addOrganization(app, 'Acme');
      const globex = await addOrganization(app, 'Globex');
      const admin = await addUser(app, 'alice', { role: 'admin', organization: acme });
      labs = await addOrganization(app, 'Acme Labs', { token: admin.session });
      await addUser(app, 'bob', { role: 'admin', organization: globex });
      await addUser(app, 'victor', { role: 'viewer', token: admin.session });
      alice = await exchange(app, await scalingoToken(app, 'alice', GOOD_PASSWORD));
      bob = await exchange(app, await scalingoToken(app, 'bob', GOOD_PASSWORD));
      viewer = await exchange(app, await scalingoToken(app, 'victor', GOOD_PASSWORD));
    });
    after(() => app.close());

    it('creates an app (rooted), checks one with X-Dry-Run without making it, lists and shows it by name or id', async () => {
      const dry = await app.nimbus.http.inject({
        method: 'POST',
        url: '/compat/scalingo/v1/apps',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'x-dry-run': 'true' },
        payload: JSON.stringify({ app: { name: 'dry-run-app' } }),
      });
      assert.equal(dry.statusCode, 200, dry.body);
      assert.equal(dry.json().app.name, 'dry-run-app');
      notFound(await scalingo(app, alice, 'GET', '/v1/apps/dry-run-app'), 'app');

      const made = await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'example-app' } });
      assert.equal(made.statusCode, 201, made.body);
      const shown = made.json().app;
      assert.equal(shown.name, 'example-app');
      assert.equal(shown.status, 'new');
      assert.equal(shown.stack_id, 'nodejs');
      assert.equal(shown.force_https, false);
      assert.equal(shown.region, 'nimbus');
      assert.equal(shown.owner.id, acme);
      assert.match(shown.owner.username, /^acme/);
      assert.equal(shown.owner.email, null);
      assert.match(shown.created_at, ISO_WITH_MS);
      assert.match(shown.url, /^http:\/\/example-app\./);
      assert.deepEqual((await scalingo(app, alice, 'GET', `/v1/apps/${shown.id}`)).json().app, shown);
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps/example-app')).json(), { app: shown });
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps')).json().apps.map((a: { name: string }) => a.name), ['example-app']);
      // The dry run of a taken name says so, as the real one would.
      const taken = await app.nimbus.http.inject({
        method: 'POST',
        url: '/compat/scalingo/v1/apps',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', 'x-dry-run': 'true' },
        payload: JSON.stringify({ app: { name: 'example-app' } }),
      });
      assert.deepEqual(invalid(taken), { name: ['is already taken'] });
    });

    it("refuses bad input in Scalingo's shapes and makes nothing", async () => {
      assert.deepEqual(invalid(await scalingo(app, alice, 'POST', '/v1/apps', {})), { app: ['missing field'] });
      assert.deepEqual(invalid(await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'AnotherApp' } })), { name: ['should contain only lowercap letters, digits and hyphens'] });
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'short' } }))), ['name']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 42 } }))), ['name']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'good-name-app', stack_id: 'cobol' } }))), ['stack_id']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'PATCH', '/v1/apps/example-app', { app: { force_https: 'yes' } }))), ['force_https']);
      assert.deepEqual(invalid(await scalingo(app, alice, 'DELETE', '/v1/apps/example-app')), { current_name: ['missing field'] });
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'DELETE', '/v1/apps/example-app?current_name=other-app'))), ['current_name']);
      plainError(await scalingo(app, viewer, 'POST', '/v1/apps', { app: { name: 'viewer-app' } }), 403);
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps')).json().apps.map((a: { name: string }) => a.name), ['example-app']);
    });

    it('changes settings (PATCH or PUT), transfers to a sub-organization and renames with the current name', async () => {
      const patched = await scalingo(app, alice, 'PATCH', '/v1/apps/example-app', { app: { force_https: true } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.equal(patched.json().app.force_https, true);
      assert.equal((await scalingo(app, alice, 'PUT', '/v1/apps/example-app', { app: { stack_id: 'procfile' } })).json().app.stack_id, 'procfile');
      const moved = await scalingo(app, alice, 'PATCH', '/v1/apps/example-app', { app: { owner: labs } });
      assert.equal(moved.json().app.owner.id, labs, moved.body);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps/example-app/rename', { current_name: 'wrong-name', new_name: 'renamed-app' }))), ['current_name']);
      const renamed = await scalingo(app, alice, 'POST', '/v1/apps/example-app/rename', { current_name: 'example-app', new_name: 'renamed-app' });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().app.name, 'renamed-app');
      notFound(await scalingo(app, alice, 'GET', '/v1/apps/example-app'), 'app');
    });

    it('sets variables in every form, one at a time or in bulk, and restarts nothing', async () => {
      const made = await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/variables', { variable: { name: 'GREETING', value: 'hello' } });
      assert.equal(made.statusCode, 201, made.body);
      const greeting = made.json().variable;
      assert.deepEqual(Object.keys(greeting).sort(), ['id', 'name', 'value']);
      const bulk = await scalingo(app, alice, 'PUT', '/v1/apps/renamed-app/variables', { variables: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] });
      assert.equal(bulk.statusCode, 200, bulk.body);
      assert.deepEqual(bulk.json().variables.map((v: { name: string }) => v.name), ['A', 'B', 'GREETING']);
      const changed = await scalingo(app, alice, 'PATCH', `/v1/apps/renamed-app/variables/${greeting.id}`, { variable: { value: 'bonjour' } });
      assert.equal(changed.json().variable.value, 'bonjour');
      const ids = bulk.json().variables.filter((v: { name: string }) => v.name !== 'GREETING').map((v: { id: string }) => v.id);
      assert.equal((await scalingo(app, alice, 'DELETE', '/v1/apps/renamed-app/variables', { variable_ids: ids })).statusCode, 204);
      assert.equal((await scalingo(app, alice, 'DELETE', `/v1/apps/renamed-app/variables/${greeting.id}`)).statusCode, 204);
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/variables')).json(), { variables: [] });

      assert.deepEqual(invalid(await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/variables', { name: 'X' })), { variable: ['missing field'] });
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/variables', { variable: { name: '1BAD', value: 'x' } }))), ['name']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/variables', { variable: { name: 'BIG', value: 'x'.repeat(8193) } }))), ['value']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'PUT', '/v1/apps/renamed-app/variables', { variables: 'A=1' }))), ['variables']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'DELETE', '/v1/apps/renamed-app/variables', {}))), ['variable_ids']);
      notFound(await scalingo(app, alice, 'DELETE', `/v1/apps/renamed-app/variables/${greeting.id}`), 'variable');
      assert.equal((await scalingo(app, alice, 'GET', '/v1/apps/renamed-app')).json().app.status, 'new');
    });

    it("reads the app's events and everyone's, page by page with meta.pagination", async () => {
      const first = await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/events?per_page=3');
      assert.equal(first.statusCode, 200, first.body);
      const { events, meta } = first.json();
      assert.equal(events.length, 3);
      assert.equal(meta.pagination.current_page, 1);
      assert.equal(meta.pagination.prev_page, null);
      assert.equal(meta.pagination.next_page, 2);
      assert.ok(meta.pagination.total_count >= 9, first.body);
      assert.equal(meta.pagination.total_pages, Math.ceil(meta.pagination.total_count / 3));
      const last = (await scalingo(app, alice, 'GET', `/v1/apps/renamed-app/events?per_page=3&page=${meta.pagination.total_pages}`)).json();
      assert.equal(last.meta.pagination.next_page, null);
      const types = [];
      for (let page = 1; page <= meta.pagination.total_pages; page++) {
        types.push(...(await scalingo(app, alice, 'GET', `/v1/apps/renamed-app/events?per_page=3&page=${page}`)).json().events.map((e: { type: string }) => e.type));
      }
      for (const type of ['new_app', 'edit_app', 'transfer_app', 'rename_app', 'new_variable', 'edit_variables', 'edit_variable', 'delete_variable']) assert.ok(types.includes(type), `${type} in ${types}`);
      const renamedEvent = events.find((e: { type: string }) => e.type === 'delete_variable') ?? events[0];
      assert.equal(renamedEvent.app_name, 'renamed-app');
      assert.deepEqual(renamedEvent.user, { id: renamedEvent.user.id, username: 'alice', email: renamedEvent.user.email });
      assert.match(renamedEvent.created_at, ISO_WITH_MS);
      assert.equal(typeof renamedEvent.id, 'string');
      const everyone = (await scalingo(app, alice, 'GET', '/v1/events?from=1')).json();
      assert.equal(everyone.meta.pagination.total_count, meta.pagination.total_count);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'GET', '/v1/events?from=73'))), ['from']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/events?per_page=0'))), ['per_page']);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/events?page=x'))), ['page']);
    });

    it('shows one event of the app by its id, and no event of another app or of no app', async () => {
      const [latest] = (await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/events?per_page=1')).json().events;
      assert.deepEqual((await scalingo(app, alice, 'GET', `/v1/apps/renamed-app/events/${latest.id}`)).json(), { event: latest });
      const other = (await scalingo(app, alice, 'POST', '/v1/apps', { app: { name: 'other-events-app' } })).json().app;
      const [theirs] = (await scalingo(app, alice, 'GET', `/v1/apps/${other.id}/events`)).json().events;
      notFound(await scalingo(app, alice, 'GET', `/v1/apps/renamed-app/events/${theirs.id}`), 'event');
      for (const id of ['999999999', 'abc', '1.5', '-1']) notFound(await scalingo(app, alice, 'GET', `/v1/apps/renamed-app/events/${id}`), 'event');
      assert.equal((await scalingo(app, alice, 'DELETE', `/v1/apps/${other.id}?current_name=other-events-app`)).statusCode, 204);
    });

    it('refuses to scale or restart an app never deployed, and lists stacks and container sizes', async () => {
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/containers')).json(), { containers: [] });
      assert.deepEqual((await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/ps')).json(), { containers: [] });
      plainError(await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/scale', { containers: [{ name: 'web', amount: 2 }] }), 409);
      plainError(await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/restart', { scope: ['web'] }), 409);
      plainError(await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/run', { command: 'ls', detached: true }), 409);
      assert.deepEqual(Object.keys(invalid(await scalingo(app, alice, 'POST', '/v1/apps/renamed-app/scale', { containers: 'web:2' }))), ['containers']);
      const stacks = (await scalingo(app, alice, 'GET', '/v1/features/stacks')).json().stacks;
      assert.deepEqual(stacks.map((s: { id: string; default: boolean }) => [s.id, s.default]), [['nodejs', true], ['procfile', false]]);
      const sizes = (await scalingo(app, alice, 'GET', '/v1/features/container_sizes')).json().container_sizes;
      assert.deepEqual(sizes.map((s: { name: string }) => s.name), ['S', 'M', 'L', 'XL', '2XL']);
      assert.deepEqual(sizes.map((s: { ordinal: number }) => s.ordinal), [0, 1, 2, 3, 4]);
      assert.equal(sizes[0].memory, 256 * 1024 * 1024);
    });

    it("answers 404 for another organization's app on every route, whatever the body", async () => {
      const id = (await scalingo(app, alice, 'GET', '/v1/apps/renamed-app')).json().app.id;
      assert.deepEqual((await scalingo(app, bob, 'GET', '/v1/apps')).json(), { apps: [] });
      for (const ref of ['renamed-app', id]) {
        for (const [method, path, body] of [
          ['GET', '', undefined],
          ['HEAD', '', undefined],
          ['PATCH', '', { app: { force_https: false } }],
          ['PUT', '', { app: { force_https: false } }],
          ['DELETE', '?current_name=renamed-app', undefined],
          ['POST', '/rename', { current_name: 'renamed-app', new_name: 'stolen-app' }],
          ['GET', '/containers', undefined],
          ['GET', '/ps', undefined],
          ['POST', '/scale', { containers: [{ name: 'web', amount: 1 }] }],
          ['POST', '/restart', {}],
          ['GET', '/variables', undefined],
          ['POST', '/variables', { variable: { name: 'X', value: '1' } }],
          ['PUT', '/variables', { variables: [{ name: 'X', value: '1' }] }],
          ['GET', '/events', undefined],
          ['GET', `/operations/${id}`, undefined],
          ['GET', '/deployments', undefined],
          ['GET', `/deployments/${id}`, undefined],
          ['POST', '/deployments', { deployment: { source_url: 'http://127.0.0.1/' } }],
          ['GET', '/logs', undefined],
          ['GET', '/events/1', undefined],
          ['POST', '/run', { command: 'ls', detached: true }],
        ] as const) {
          const res = await scalingo(app, bob, method, `/v1/apps/${ref}${path}`, body);
          if (method === 'HEAD') assert.equal(res.statusCode, 404, `${method} ${path}`);
          else notFound(res, 'app');
        }
      }
      assert.equal((await scalingo(app, bob, 'GET', '/v1/events')).json().meta.pagination.total_count, 0);
      assert.equal((await scalingo(app, alice, 'GET', '/v1/apps/renamed-app/variables')).json().variables.length, 0);
      // An operation of another app of one's own is no operation of this one.
      notFound(await scalingo(app, alice, 'GET', `/v1/apps/renamed-app/operations/${id}`), 'operation');
    });

    it('deletes an app with its current name: 204, then it is gone', async () => {
      assert.equal((await scalingo(app, alice, 'DELETE', '/v1/apps/renamed-app?current_name=renamed-app')).statusCode, 204);
      const gone = await scalingo(app, alice, 'GET', '/v1/apps/renamed-app');
      // Its task tears it down; until then it shows as stopped, and no change is accepted.
      if (gone.statusCode === 200) assert.equal(gone.json().app.status, 'stopped');
      else notFound(gone, 'app');
    });
  });
}
