import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requestFingerprint } from '../../../src/http/conventions/idempotency.ts';
import { testDatabases } from '../../support/databases.ts';
import { startTestApp, type TestApp } from '../../support/app.ts';

for (const database of testDatabases) {
  describe(`Idempotency-Key [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database);
    });
    after(() => app.close());

    const post = (url: string, payload: object, key: string, token?: string) =>
      app.request({ method: 'POST', url, payload, token, headers: { 'idempotency-key': key } });
    const count = async (url: string) => (await app.request({ method: 'GET', url })).json().count;

    it('replays the first response of an asynchronous create: the same task, not a second one', async () => {
      const before = await count('/api/tasks/tasks/');
      const first = await post('/api/tasks/tasks/', { type: 'noop' }, 'create-noop-1');
      assert.equal(first.statusCode, 202);
      const replay = await post('/api/tasks/tasks/', { type: 'noop' }, 'create-noop-1');
      assert.equal(replay.statusCode, 202);
      assert.equal(replay.headers['idempotent-replayed'], 'true');
      assert.equal(replay.headers.location, first.headers.location);
      assert.deepEqual(replay.json(), first.json());
      assert.equal(await count('/api/tasks/tasks/'), before + 1);
    });

    it('replays a synchronous create and its error responses alike', async () => {
      const created = await post('/api/iam/organizations/', { name: 'Once' }, 'org-once');
      assert.equal(created.statusCode, 201);
      const replay = await post('/api/iam/organizations/', { name: 'Once' }, 'org-once');
      assert.equal(replay.statusCode, 201);
      assert.equal(replay.json().id, created.json().id);
      const invalid = await post('/api/iam/organizations/', { name: '' }, 'org-invalid');
      const invalidAgain = await post('/api/iam/organizations/', { name: '' }, 'org-invalid');
      assert.equal(invalidAgain.statusCode, 400);
      assert.deepEqual(invalidAgain.json(), invalid.json());
      // The same body with its keys in another order is the same request.
      const a = await post('/api/iam/organizations/', { name: 'Ordered', slug: 'ordered-org' }, 'org-ordered');
      const b = await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: '{"slug":"ordered-org","name":"Ordered"}', headers: { 'content-type': 'application/json', 'idempotency-key': 'org-ordered' } });
      assert.equal(b.statusCode, 201);
      assert.equal(b.json().id, a.json().id);
    });

    it('refuses the same key with a different body (422) and changes nothing', async () => {
      await post('/api/iam/organizations/', { name: 'First' }, 'org-mismatch');
      const before = await count('/api/iam/organizations/');
      const other = await post('/api/iam/organizations/', { name: 'Second' }, 'org-mismatch');
      assert.equal(other.statusCode, 422);
      assert.equal(other.json().code, 'idempotency_key_reused');
      const otherUrl = await post('/api/tasks/tasks/', { name: 'First' }, 'org-mismatch');
      assert.equal(otherUrl.statusCode, 422);
      assert.equal(await count('/api/iam/organizations/'), before);
    });

    it('answers 409 while the first request with the key is still running', async () => {
      const token = await app.nimbus.store.db.selectFrom('api_tokens').select('id').where('name', '=', 'bootstrap').executeTakeFirstOrThrow();
      // The key is claimed exactly as the first request's handling claims it, and left in flight.
      const claim = await app.nimbus.services.idempotency.claim(token.id, 'in-flight-key', requestFingerprint('POST', '/api/tasks/tasks/', { type: 'noop' }));
      assert.equal(claim.outcome, 'first');
      const second = await post('/api/tasks/tasks/', { type: 'noop' }, 'in-flight-key');
      assert.equal(second.statusCode, 409);
      assert.equal(second.json().code, 'idempotency_key_in_use');
    });

    it('scopes keys to the credential and rejects malformed keys', async () => {
      const admin = await app.nimbus.store.db.selectFrom('users').selectAll().where('username', '=', 'admin').executeTakeFirstOrThrow();
      const { secret } = await app.nimbus.services.tokens.create({ userId: admin.id, organizationId: admin.organization_id, kind: 'personal', name: 'second', scopes: ['*'], expiresAt: null });
      const mine = await post('/api/tasks/tasks/', { type: 'noop' }, 'shared-key');
      const theirs = await post('/api/tasks/tasks/', { type: 'noop' }, 'shared-key', secret);
      assert.equal(theirs.statusCode, 202);
      assert.equal(theirs.headers['idempotent-replayed'], undefined);
      assert.notEqual(theirs.json().id, mine.json().id);
      const bad = await post('/api/tasks/tasks/', { type: 'noop' }, 'has space');
      assert.equal(bad.statusCode, 400);
      assert.ok(bad.json()['Idempotency-Key']);
    });

    it('never stores a secret it shows once: a replay has null in its place and says it was shown once', async () => {
      const stored = async (key: string) => (await app.nimbus.store.db.selectFrom('idempotency_keys').select('response_body').where('key', '=', key).executeTakeFirstOrThrow()).response_body ?? '';
      const cases: { url: string; payload?: object; key: string; field: string }[] = [
        { url: '/api/auth/tokens/', payload: { name: 'replayed', scopes: ['task:read'] }, key: 'secret-token', field: 'key' },
        { url: '/api/auth/credentials/', payload: {}, key: 'secret-credential', field: 'password' },
        { url: '/api/oauth/applications/', payload: { name: 'Replayed', redirect_uris: ['https://app.example/cb'], scopes: ['profile_read'] }, key: 'secret-application', field: 'client_secret' },
        { url: '/api/auth/tokens/exchange/', key: 'secret-bearer', field: 'token' },
      ];
      for (const { url, payload, key, field } of cases) {
        const first = await app.request({ method: 'POST', url, ...(payload ? { payload } : {}), headers: { 'idempotency-key': key } });
        assert.ok(first.statusCode === 200 || first.statusCode === 201, first.body);
        const secret = first.json()[field];
        assert.ok(typeof secret === 'string' && secret.length > 20, `${url} shows its ${field}`);
        assert.ok(!(await stored(key)).includes(secret), `${url}: the ${field} is not stored`);
        const replay = await app.request({ method: 'POST', url, ...(payload ? { payload } : {}), headers: { 'idempotency-key': key } });
        assert.equal(replay.statusCode, first.statusCode);
        assert.equal(replay.headers['idempotent-replayed'], 'true');
        const body = replay.json();
        assert.equal(body[field], null, `${url}: the replay holds no ${field}`);
        assert.match(body.detail, new RegExp(`${field} was shown once`));
        for (const [name, value] of Object.entries(first.json())) if (name !== field) assert.deepEqual(body[name], value, `${url}: ${name} is replayed`);
      }
      // The rotated client secret of an application, too.
      const application = (await app.request({ method: 'POST', url: '/api/oauth/applications/', payload: { name: 'Rotated', redirect_uris: ['https://app.example/cb'], scopes: ['profile_read'] } })).json();
      const rotated = await app.request({ method: 'POST', url: `/api/oauth/applications/${application.id}/rotate_secret/`, headers: { 'idempotency-key': 'secret-rotation' } });
      assert.ok(!(await stored('secret-rotation')).includes(rotated.json().client_secret));
      assert.ok(!app.logs().includes(rotated.json().client_secret), 'never logged either');
    });

    it('refuses a deeply nested body with a key as broken JSON (400), claiming no key', async () => {
      const deep = `{"type":"noop","input":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
      const res = await app.request({ method: 'POST', url: '/api/tasks/tasks/', payload: deep, headers: { 'content-type': 'application/json', 'idempotency-key': 'deep-body' } });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'parse_error');
      assert.match(res.json().detail, /^JSON parse error - Nested deeper than 64 levels at: line 1 column \d+ \(char \d+\)$/);
      const rows = await app.nimbus.store.db.selectFrom('idempotency_keys').select('key').where('key', '=', 'deep-body').execute();
      assert.equal(rows.length, 0);
    });

    it('purges keys after 24 hours', async () => {
      await post('/api/tasks/tasks/', { type: 'noop' }, 'old-key');
      const tomorrow = new Date(Date.now() + 24 * 3600 * 1000 + 1000).toISOString();
      assert.ok((await app.nimbus.services.idempotency.purgeExpired(tomorrow)) >= 1);
      const rows = await app.nimbus.store.db.selectFrom('idempotency_keys').select('key').where('key', '=', 'old-key').execute();
      assert.equal(rows.length, 0);
    });
  });
}
