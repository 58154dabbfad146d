import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../support/identity.ts';

const TOKENS = '/api/servers/registration-tokens/';
const NOTES = '/api/servers/notes/';

for (const database of testDatabases) {
  describe(`registration tokens and notes [${database.name}]`, { skip: computeSkipReason() ?? false, timeout: 300_000 }, () => {
    let app: TestApp;
    let server: string;
    let bob: TestUser; // admin of a sibling organization
    let viewer: TestUser; // a viewer of the admin's organization

    const call = async (method: string, url: string, payload?: object, token?: string | null) => {
      const res = await app.request({ method: method as 'GET', url, payload, token });
      return { status: res.statusCode, body: res.body ? res.json() : null };
    };

    before(async () => {
      app = await startComputeTestApp(database);
      const created = await call('POST', '/api/servers/servers/', { name: 'noted' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      server = created.body.id;
      bob = await addUser(app, 'extras-bob', { role: 'admin', organization: await addOrganization(app, 'Extras elsewhere') });
      viewer = await addUser(app, 'extras-viewer', { role: 'viewer' });
    });
    after(async () => {
      await app?.close();
    });

    it('a registration token: the key once, stored hashed, enrolling until it expires or is deleted', async () => {
      const created = await call('POST', TOKENS, { name: 'rack-a' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const { key, id } = created.body;
      assert.match(key, /^nbreg_[A-Za-z0-9]+$/);
      assert.equal((await call('GET', `${TOKENS}${id}/`)).body.key, undefined);
      const stored = await app.nimbus.store.db.selectFrom('server_registration_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      assert.ok(!JSON.stringify(stored).includes(key), 'only the hash is kept');
      assert.ok(!app.logs().includes(key), 'the key is never logged');
      const { registrationTokens } = app.nimbus.services;
      const enrolment = await registrationTokens.enrolmentFor(key);
      assert.equal(enrolment.tokenId, id);
      // The key with its last character changed (a key may already end in x).
      await assert.rejects(registrationTokens.enrolmentFor(`${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`), /Invalid registration token/);
      assert.equal((await call('GET', '/api/servers/servers/', undefined, key)).status, 401, 'the key is no API credential');
      assert.equal((await call('DELETE', `${TOKENS}${id}/`)).status, 204);
      await assert.rejects(registrationTokens.enrolmentFor(key), /Invalid registration token/);

      const soon = await call('POST', TOKENS, { name: 'rack-b', expires_at: new Date(Date.now() + 1500).toISOString() });
      assert.equal(soon.body.enabled, true);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      assert.equal((await call('GET', `${TOKENS}${soon.body.id}/`)).body.enabled, false);
      await assert.rejects(registrationTokens.enrolmentFor(soon.body.key), /Invalid registration token/);
    });

    it('registration tokens: bad input is a field error that writes nothing', async () => {
      const count = async () => (await call('GET', TOKENS)).body.count;
      const before = await count();
      const taken = (await call('POST', TOKENS, { name: 'unique-name' })).status;
      assert.equal(taken, 201);
      for (const [payload, field] of [
        [{ name: ' ' }, 'name'],
        [{ name: 'unique-name' }, 'name'],
        [{ name: 'x', expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
        [{ name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
        [{ name: 'x', allowed_groups: ['not-a-uuid'] }, 'allowed_groups'],
        [{ name: 'x', allowed_groups: ['0b7e3a52-8d8a-4c1e-9a7e-2f1d6c9b0a11'] }, 'allowed_groups'],
      ] as const) {
        const res = await call('POST', TOKENS, payload);
        assert.deepEqual([res.status, Object.keys(res.body)], [400, [field]], JSON.stringify(res.body));
      }
      assert.equal(await count(), before + 1);
    });

    it("registration tokens: another organization's are 404s and unlisted; its groups cannot be allowed", async () => {
      const mine = (await call('POST', TOKENS, { name: 'private-fleet' })).body;
      assert.equal((await call('GET', `${TOKENS}${mine.id}/`, undefined, bob.session)).status, 404);
      assert.equal((await call('DELETE', `${TOKENS}${mine.id}/`, undefined, bob.session)).status, 404);
      assert.ok(!(await call('GET', TOKENS, undefined, bob.session)).body.results.some((t: { id: string }) => t.id === mine.id));
      const adminGroup = (await call('POST', '/api/iam/groups/', { name: 'admins-only' })).body;
      assert.equal((await call('POST', TOKENS, { name: 'steal', allowed_groups: [adminGroup.id] }, bob.session)).status, 400);
      const sameName = await call('POST', TOKENS, { name: 'private-fleet' }, bob.session);
      assert.equal(sameName.status, 201, 'names are unique per organization');
    });

    it('registration tokens and notes: reading takes server:read, writing server:write (scope and role)', async () => {
      const reader = await addToken(app, app.token, ['server:read']);
      assert.equal((await call('GET', TOKENS, undefined, reader.key)).status, 200);
      assert.equal((await call('POST', TOKENS, { name: 'no' }, reader.key)).status, 403);
      assert.equal((await call('GET', NOTES, undefined, reader.key)).status, 200);
      assert.equal((await call('POST', NOTES, { server, content: 'no' }, reader.key)).status, 403);
      assert.equal((await call('POST', TOKENS, { name: 'no' }, viewer.session)).status, 403);
      assert.equal((await call('POST', NOTES, { server, content: 'no' }, viewer.session)).status, 403);
      assert.equal((await call('GET', NOTES, undefined, viewer.session)).status, 200);
      const none = await addToken(app, app.token, ['user:read']);
      assert.equal((await call('GET', TOKENS, undefined, none.key)).status, 403);
      assert.equal((await call('GET', NOTES, undefined, none.key)).status, 403);
    });

    it('notes: written, filtered by server and pin, edited, deleted; a private note shows to its author only', async () => {
      const open = await call('POST', NOTES, { server, content: 'open note' });
      assert.equal(open.status, 201, JSON.stringify(open.body));
      assert.deepEqual([open.body.private, open.body.pinned, open.body.author.name], [false, false, 'admin']);
      const secret = (await call('POST', NOTES, { server, content: 'admin only', private: true, pinned: true })).body;
      const colleague = await addUser(app, 'extras-colleague', { role: 'admin' });
      assert.equal((await call('GET', `${NOTES}${secret.id}/`, undefined, colleague.session)).status, 404);
      assert.equal((await call('PATCH', `${NOTES}${secret.id}/`, { content: 'x' }, colleague.session)).status, 404);
      assert.ok(!(await call('GET', `${NOTES}?server=${server}`, undefined, colleague.session)).body.results.some((n: { id: string }) => n.id === secret.id));
      const pinned = (await call('GET', `${NOTES}?server=${server}&pinned=true`)).body.results;
      assert.deepEqual(pinned.map((n: { id: string }) => n.id), [secret.id]);
      const edited = await call('PATCH', `${NOTES}${open.body.id}/`, { content: 'edited', private: true });
      assert.deepEqual([edited.body.content, edited.body.private], ['edited', true]);
      assert.equal((await call('DELETE', `${NOTES}${open.body.id}/`)).status, 204);
      assert.equal((await call('GET', `${NOTES}${open.body.id}/`)).status, 404);
    });

    it('notes: bad input is a field error that writes nothing', async () => {
      const before = (await call('GET', NOTES)).body.count;
      for (const [payload, field] of [
        [{ server, content: '   ' }, 'content'],
        [{ server: 'nope', content: 'x' }, null],
      ] as const) {
        const res = await call('POST', NOTES, payload);
        if (field) assert.deepEqual([res.status, Object.keys(res.body)], [400, [field]], JSON.stringify(res.body));
        else assert.equal(res.status, 404, JSON.stringify(res.body));
      }
      assert.equal((await call('GET', `${NOTES}?pinned=maybe`)).status, 400);
      assert.equal((await call('GET', NOTES)).body.count, before);
    });

    it("notes: another organization's notes and servers are 404s", async () => {
      const note = (await call('POST', NOTES, { server, content: 'ours' })).body;
      assert.equal((await call('GET', `${NOTES}${note.id}/`, undefined, bob.session)).status, 404);
      assert.equal((await call('PATCH', `${NOTES}${note.id}/`, { content: 'theirs' }, bob.session)).status, 404);
      assert.equal((await call('DELETE', `${NOTES}${note.id}/`, undefined, bob.session)).status, 404);
      assert.equal((await call('POST', NOTES, { server, content: 'on your server' }, bob.session)).status, 404);
      assert.equal((await call('GET', NOTES, undefined, bob.session)).body.count, 0);
    });
  });
}
