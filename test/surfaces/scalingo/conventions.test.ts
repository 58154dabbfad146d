import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { exchange, scalingoToken, SCALINGO } from './support.ts';

const BODY_LIMIT = 4096;

for (const database of testDatabases) {
  describe(`Scalingo conventions: errors, HEAD, rate limits, its own port [${database.name}]`, () => {
    let app: TestApp;
    let jwt: string;
    let mounts: { where: string; base: string }[];

    before(async () => {
      app = await startTestApp(database, { bodyLimit: BODY_LIMIT, surfacePorts: { scalingo: 0 }, identity: { rateLimitPerCredential: 40 } });
      await addUser(app, 'alice', { role: 'admin' });
      jwt = await exchange(app, await scalingoToken(app, 'alice', GOOD_PASSWORD));
      const port = (server: { address(): unknown }) => (server.address() as AddressInfo).port;
      const own = app.nimbus.listeners.own.find((o) => o.surface.name === 'scalingo')!;
      mounts = [
        { where: 'at /compat/scalingo', base: `http://127.0.0.1:${port(app.nimbus.http.server)}${SCALINGO}` },
        { where: 'on its own port', base: `http://127.0.0.1:${port(own.app.server)}` },
      ];
    });
    after(() => app.close());

    const call = async (url: string, init: RequestInit & { auth?: boolean } = {}) => {
      const { auth = true, ...rest } = init;
      const res = await fetch(url, { ...rest, headers: { ...(auth ? { authorization: `Bearer ${jwt}` } : {}), ...(rest.headers as Record<string, string>) } });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
    };
    const json = (body: string, type = 'application/json') => ({ method: 'POST', body, headers: { 'content-type': type } });

    it("answers Scalingo's error shapes for the framework's own errors on both listeners", async () => {
      for (const { where, base } of mounts) {
        const broken = await call(`${base}/v1/tokens`, json('{"token": {'));
        assert.equal(broken.status, 400, where);
        assert.deepEqual(Object.keys(broken.body), ['error'], where);
        assert.match(broken.body.error, /^There was a problem in the JSON you submitted: /, where);
        const unknown = await call(`${base}/v1/nowhere`);
        assert.equal(unknown.status, 404, where);
        assert.deepEqual(unknown.body, { error: 'not found' }, where);
        const wrong = await call(`${base}/v1/users/self`, { method: 'DELETE' });
        assert.equal(wrong.status, 405, where);
        assert.equal(wrong.headers.get('allow'), 'GET, HEAD, OPTIONS', where);
        assert.deepEqual(Object.keys(wrong.body), ['error'], where);
        for (const [what, answer, status] of [
          ['too large', await call(`${base}/v1/tokens`, json(JSON.stringify({ name: 'x'.repeat(BODY_LIMIT) }))), 413],
          ['not JSON', await call(`${base}/v1/tokens`, json('name=x', 'application/x-www-form-urlencoded')), 415],
          ['malformed URL', await call(`${base}/v1/tokens/%zz`, { method: 'DELETE' }), 400],
          ['no credential', await call(`${base}/v1/users/self`, { auth: false }), 401],
        ] as const) {
          assert.equal(answer.status, status, `${what} ${where}: ${answer.text}`);
          assert.deepEqual(Object.keys(answer.body), ['error'], `${what} ${where}`);
          assert.equal(typeof answer.body.error, 'string', `${what} ${where}`);
        }
      }
    });

    it('answers HEAD on every resource with its headers and no body, and links to itself from where it was asked', async () => {
      for (const { where, base } of mounts) {
        const head = await call(`${base}/v1/users/self`, { method: 'HEAD' });
        assert.equal(head.status, 200, where);
        assert.equal(head.text, '', where);
        assert.match(head.headers.get('content-type') ?? '', /application\/json/, where);
        assert.equal((await call(`${base}/v1/tokens`, { method: 'HEAD' })).status, 200, where);
        const regions = await call(`${base}/v1/regions`, { auth: false });
        assert.equal(regions.body.regions[0].api, base, where);
      }
    });

    it('answers 429 with its rate-limit headers once the credential has used its requests', async () => {
      const base = mounts[1]!.base;
      let last;
      // Over twice the limit of 40: a window that turns over during the loop still fills again.
      for (let i = 0; i < 90 && last?.status !== 429; i++) last = await call(`${base}/v1/users/self`);
      assert.equal(last!.status, 429, last!.text);
      assert.deepEqual(Object.keys(last!.body), ['error']);
      assert.equal(last!.headers.get('ratelimit-limit'), '40');
      assert.equal(last!.headers.get('ratelimit-remaining'), '0');
      assert.ok(Number(last!.headers.get('retry-after')) > 0);
    });
  });
}
