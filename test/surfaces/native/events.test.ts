import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../../support/databases.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { addUser } from '../../support/identity.ts';
import { openEventStream } from '../../support/sse.ts';

for (const database of testDatabases) {
  describe(`events [${database.name}]`, () => {
    let app: TestApp;
    let base: string;
    before(async () => {
      app = await startTestApp(database);
      await app.nimbus.http.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(app.nimbus.http.server.address() as { port: number }).port}`;
    });
    after(() => app.close());

    const createOrg = async (name: string, token?: string) => {
      const res = await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: { name }, token });
      assert.equal(res.statusCode, 201, res.body);
      return { org: res.json(), requestId: res.headers['x-request-id'] as string };
    };
    const listEvents = async (query: string, token?: string) => {
      const res = await app.request({ method: 'GET', url: `/api/events/events/?${query}`, token });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };

    /** An admin of a new sub-organization, with its session token. */
    async function tenant(name: string) {
      const { org } = await createOrg(name);
      const user = await addUser(app, `u-${org.id.slice(0, 8)}`, { role: 'admin', organization: org.id });
      return { org, token: user.session };
    }

    it('records organization changes in the same transaction, with actor and request id', async () => {
      const { org, requestId } = await createOrg('Evented');
      await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org.id}/`, payload: { name: 'Evented 2' } });
      await app.request({ method: 'DELETE', url: `/api/iam/organizations/${org.id}/` });
      const listed = await listEvents(`resource=organization:${org.id}`);
      assert.deepEqual(listed.results.map((e: { type: string }) => e.type), ['organization.deleted', 'organization.updated', 'organization.created']);
      const created = listed.results[2];
      assert.equal(created.request_id, requestId);
      assert.equal(created.organization, org.id);
      assert.deepEqual(created.resource, { type: 'organization', id: org.id });
      assert.equal(created.data.name, 'Evented');
      assert.ok(listed.results[0].id > listed.results[1].id && listed.results[1].id > created.id);
      // A refused change records nothing.
      const refused = await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: { name: '' } });
      assert.equal(refused.statusCode, 400);
      assert.equal((await listEvents(`type=organization.created&resource=${org.id}`)).results.length, 1);
    });

    it('pages by cursor and filters by type prefix, refusing a bad filter', async () => {
      for (let i = 0; i < 3; i++) await createOrg(`Paged ${i}`);
      const page = await listEvents('type=organization.*&page_size=2');
      assert.equal(page.results.length, 2);
      assert.ok(page.next);
      assert.ok(page.results.every((e: { type: string }) => e.type.startsWith('organization.')));
      const next = await listEvents(`type=organization.*&page_size=2&cursor=${page.next}`);
      assert.ok(next.results[0].id < page.results[1].id);
      const bad = await app.request({ method: 'GET', url: '/api/events/events/?type=Robert%27);' });
      assert.equal(bad.statusCode, 400);
      assert.ok(bad.json().type);
    });

    it('shows a tenant only the events of its own subtree, in lists and streams', async () => {
      const a = await tenant('Tenant A');
      const b = await tenant('Tenant B');
      const streamA = await openEventStream(`${base}/api/events/events/stream/`, a.token);
      assert.equal(streamA.status, 200);
      const { org: childOfA } = await createOrg('Child of A', a.token);
      const { org: childOfB } = await createOrg('Child of B', b.token);
      const [received] = await streamA.take(1);
      assert.equal(received!.data.resource!.id, childOfA.id);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(streamA.pending(), [], 'no other tenant\'s event reaches the stream');
      streamA.close();
      const listedByA = await listEvents('', a.token);
      assert.ok(listedByA.results.every((e: { organization: string }) => e.organization !== b.org.id && e.organization !== childOfB.id));
      assert.ok(listedByA.results.some((e: { organization: string }) => e.organization === childOfA.id));
      // The root sees both subtrees.
      const listedByRoot = await listEvents(`resource=${childOfB.id}`);
      assert.equal(listedByRoot.results.length, 1);
    });

    it('resumes the stream after Last-Event-ID with neither a gap nor a duplicate', async () => {
      const { org } = await createOrg('Resumable');
      const filter = `?type=organization.updated&resource=${org.id}`;
      const first = await openEventStream(`${base}/api/events/events/stream/${filter}`, app.token);
      for (let i = 0; i < 3; i++) await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org.id}/`, payload: { name: `R${i}` } });
      const seen = await first.take(3);
      assert.equal(seen.length, 3);
      first.close();
      // Changes made while no one listens.
      for (let i = 3; i < 8; i++) await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org.id}/`, payload: { name: `R${i}` } });
      const resumed = await openEventStream(`${base}/api/events/events/stream/${filter}`, app.token, seen.at(-1)!.id);
      await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org.id}/`, payload: { name: 'R8' } });
      const rest = await resumed.take(6);
      resumed.close();
      const names = [...seen, ...rest].map((m) => (m.data.data as { name: string }).name);
      assert.deepEqual(names, ['R0', 'R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8']);
      const ids = [...seen, ...rest].map((m) => m.id);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      assert.equal(new Set(ids).size, ids.length);
    });

    it('delivers every event of concurrent writers exactly once, in id order', async () => {
      const { org } = await createOrg('Busy');
      const stream = await openEventStream(`${base}/api/events/events/stream/?resource=${org.id}&type=organization.updated`, app.token);
      const writes = 40;
      await Promise.all(
        Array.from({ length: 4 }, async (_, writer) => {
          for (let i = 0; i < writes / 4; i++) {
            // Concurrent PATCHes race on the revision: retry the ones that lose.
            for (;;) {
              const res = await app.request({ method: 'PATCH', url: `/api/iam/organizations/${org.id}/`, payload: { name: `w${writer}-${i}` } });
              if (res.statusCode === 200) break;
              assert.equal(res.statusCode, 412, res.body);
            }
          }
        }),
      );
      const received = await stream.take(writes, 10_000);
      stream.close();
      assert.equal(received.length, writes);
      const ids = received.map((m) => m.id);
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
      assert.equal(new Set(received.map((m) => (m.data.data as { name: string }).name)).size, writes);
    });

    it('needs event:read, and refuses a malformed Last-Event-ID', async () => {
      const admin = await app.nimbus.store.db.selectFrom('users').selectAll().where('username', '=', 'admin').executeTakeFirstOrThrow();
      const { secret } = await app.nimbus.services.tokens.create({ userId: admin.id, organizationId: admin.organization_id, kind: 'personal', name: 'no-events', scopes: ['task:read'], expiresAt: null });
      assert.equal((await app.request({ method: 'GET', url: '/api/events/events/', token: secret })).statusCode, 403);
      const refused = await openEventStream(`${base}/api/events/events/stream/`, secret);
      assert.equal(refused.status, 403);
      refused.close();
      const bad = await app.request({ method: 'GET', url: '/api/events/events/stream/', headers: { 'last-event-id': 'abc' } });
      assert.equal(bad.statusCode, 400);
    });
  });
}
