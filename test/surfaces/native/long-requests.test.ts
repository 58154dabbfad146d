import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RECHECK_MS } from '../../../src/core/long-requests.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addToken, addUser, bearer } from '../../support/identity.ts';
import { openEventStream, type SseStream } from '../../support/sse.ts';

const EVENTS_STREAM = '/api/events/events/stream/';
/** The credential and role caches live 2 s; a stream re-checks every second. */
const CACHE_DELAY_MS = 2_000;
const ENDS_WITHIN_MS = CACHE_DELAY_MS + RECHECK_MS + 1_000;

for (const database of testDatabases) {
  describe(`open streams and long polls [${database.name}]`, () => {
    let app: TestApp;
    let base: string;
    before(async () => {
      app = await startTestApp(database, { limits: { streamsPerCredential: 2, streamsPerProcess: 3 } });
      await app.nimbus.http.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(app.nimbus.http.server.address() as { port: number }).port}`;
    });
    after(() => app.close());

    const open: SseStream[] = [];
    const stream = async (token: string, authorization?: string) => {
      const opened = await openEventStream(`${base}${EVENTS_STREAM}`, token, undefined, authorization);
      open.push(opened);
      return opened;
    };
    const closeAll = async () => {
      for (const s of open.splice(0)) s.close();
      await eventually('every slot to be given back', async () => (app.nimbus.services.longRequests.openCount() === 0 ? true : undefined), 5_000);
    };

    /** An admin of a new tenant: its session, and a personal token of its own. */
    async function tenantAdmin(name: string) {
      const organization = await addOrganization(app, name);
      const user = await addUser(app, name.toLowerCase().replaceAll(' ', '-'), { role: 'admin', organization });
      const token = await addToken(app, user.session, ['*']);
      return { organization, user, token };
    }

    /** Asserts the stream ends within the cache delay, and delivers nothing of what happens after. */
    async function assertEnds(subject: SseStream, organization: string, what: string) {
      const started = Date.now();
      assert.ok(await subject.ended(ENDS_WITHIN_MS), `the stream is still open ${ENDS_WITHIN_MS} ms after ${what}`);
      await app.request({ method: 'PATCH', url: `/api/iam/organizations/${organization}/`, payload: { name: `After ${what}` } });
      assert.deepEqual(subject.pending().filter((m) => (m.data.data as { name?: string } | undefined)?.name === `After ${what}`), []);
      return Date.now() - started;
    }

    it('counts open streams and long polls per credential and per process: past either, a 429 with Retry-After', async () => {
      const a = await tenantAdmin('Streams A');
      const b = await tenantAdmin('Streams B');
      assert.equal((await stream(a.token.key)).status, 200);
      assert.equal((await stream(a.token.key)).status, 200);
      const third = await app.request({ method: 'GET', url: EVENTS_STREAM, token: a.token.key });
      assert.equal(third.statusCode, 429, third.body);
      assert.equal(third.headers['retry-after'], '5');
      assert.match(third.json().detail, /already holds 2 open streams and long polls/);
      const task = (await app.request({ method: 'POST', url: '/api/tasks/tasks/', payload: { type: 'noop' }, token: a.token.key })).json();
      const poll = await app.request({ method: 'GET', url: `/api/tasks/tasks/${task.id}/wait/?timeout=1`, token: a.token.key });
      assert.equal(poll.statusCode, 429, 'a long poll counts too');
      // Another credential of the same user has slots of its own, until the process is full.
      assert.equal((await stream(a.user.session)).status, 200);
      const full = await app.request({ method: 'GET', url: EVENTS_STREAM, token: b.token.key });
      assert.equal(full.statusCode, 429);
      assert.match(full.json().detail, /This server holds as many open streams and long polls as it allows/);
      await closeAll();
      assert.equal((await stream(b.token.key)).status, 200, 'closed streams give their slots back');
      // HEAD and refused requests hold nothing.
      for (let i = 0; i < 4; i++) assert.equal((await app.request({ method: 'HEAD', url: EVENTS_STREAM, token: b.token.key })).statusCode, 200);
      assert.equal((await app.request({ method: 'GET', url: `${EVENTS_STREAM}?type=Bad!`, token: b.token.key })).statusCode, 400);
      assert.equal(app.nimbus.services.longRequests.openCount(), 1);
      await closeAll();
    });

    it('ends an event stream when its token is revoked, its bearer\'s token too, its role removed or its user deactivated', async () => {
      const revoked = await tenantAdmin('Revoked token');
      const byToken = await stream(revoked.token.key);
      const jwt = (await app.request({ method: 'POST', url: '/api/auth/tokens/exchange/', token: revoked.user.session })).json().token;
      const byBearer = await stream('', bearer(jwt).authorization);
      assert.equal(byToken.status, 200);
      assert.equal(byBearer.status, 200);
      // Still delivering before the revocation.
      await app.request({ method: 'PATCH', url: `/api/iam/organizations/${revoked.organization}/`, payload: { name: 'Before' } });
      assert.equal((await byToken.take(1)).length, 1);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/auth/tokens/${revoked.token.id}/`, token: revoked.user.session })).statusCode, 204);
      await assertEnds(byToken, revoked.organization, 'the token was revoked');
      await app.request({ method: 'POST', url: '/api/auth/logout/', token: revoked.user.session });
      await assertEnds(byBearer, revoked.organization, "the bearer's session ended");
      await closeAll();

      const demoted = await tenantAdmin('Role removed');
      const byRole = await stream(demoted.token.key);
      const binding = (await app.request({ method: 'GET', url: `/api/iam/role-bindings/?user=${demoted.user.id}` })).json().results[0];
      assert.equal((await app.request({ method: 'DELETE', url: `/api/iam/role-bindings/${binding.id}/` })).statusCode, 204);
      await assertEnds(byRole, demoted.organization, 'its role was removed');
      await closeAll();

      const deactivated = await tenantAdmin('Deactivated');
      const byUser = await stream(deactivated.token.key);
      const patched = await app.request({ method: 'PATCH', url: `/api/iam/users/${deactivated.user.id}/`, payload: { is_active: false } });
      assert.equal(patched.statusCode, 200, patched.body);
      await assertEnds(byUser, deactivated.organization, 'its user was deactivated');
      await closeAll();
    });

    it('ends a long poll with the refusal any request would get once its credential is revoked', async () => {
      const { user, token } = await tenantAdmin('Long poll');
      const task = (await app.request({ method: 'POST', url: '/api/tasks/tasks/', payload: { type: 'noop' }, token: token.key })).json();
      // A task that never finishes: its type is not run by anyone.
      await app.nimbus.store.db.updateTable('tasks').set({ status: 'running', locked_by: 'elsewhere', locked_until: '2999-01-01T00:00:00.000Z' }).where('id', '=', task.id).execute();
      const started = Date.now();
      const polling = app.request({ method: 'GET', url: `/api/tasks/tasks/${task.id}/wait/?timeout=60`, token: token.key });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await app.request({ method: 'DELETE', url: `/api/auth/tokens/${token.id}/`, token: user.session });
      const answered = await polling;
      assert.equal(answered.statusCode, 401, answered.body);
      assert.ok(Date.now() - started < ENDS_WITHIN_MS + 300, `answered after ${Date.now() - started} ms`);
      assert.equal(app.nimbus.services.longRequests.openCount(), 0);
    });
  });
}
