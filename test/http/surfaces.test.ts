import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { mountTable } from '../../src/app.ts';
import { RateLimited } from '../../src/core/errors.ts';
import { createSecretBox } from '../../src/core/secrets/secret-box.ts';
import { createCoreServices } from '../../src/core/services.ts';
import { acceptJsonBodiesOnly } from '../../src/http/conventions/json-body.ts';
import { interpretError, sendErrorBody } from '../../src/http/errors.ts';
import { buildListeners, type Listeners } from '../../src/http/listeners.ts';
import { surfaceUrl, useDialect, type Surface } from '../../src/http/surface.ts';
import { createLogger } from '../../src/logger.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { TEST_SECRET_KEY } from '../support/app.ts';
import { testDatabases } from '../support/databases.ts';

const BODY_LIMIT = 4096;

/**
 * A dialect of its own for these tests: errors are `{"fault": {"status", "kind", "text"}}`,
 * OPTIONS is a bare 204, and every request it sees is counted.
 */
function contractSurface(seen: string[]): FastifyPluginAsync {
  return async (app) => {
    useDialect(app, {
      renderError(error, request, reply) {
        const meaning = interpretError(error, request, reply);
        const kind = meaning.kind === 'domain' ? meaning.error.code : meaning.kind === 'http' ? meaning.code : 'failure';
        sendErrorBody(reply, { fault: { status: reply.statusCode, kind, text: meaning.kind === 'failure' ? 'broken' : meaning.kind === 'domain' ? meaning.error.message : meaning.message } });
      },
    });
    acceptJsonBodiesOnly(app);
    app.addHook('onRequest', async (request) => void seen.push(request.url));
    app.get('/things', async (request) => ({ things: [], next: surfaceUrl(app, request, '/things?page=2') }));
    app.post('/things', { schema: { body: Type.Object({ name: Type.String() }) } }, async (request, reply) => {
      reply.code(201).header('location', surfaceUrl(app, request, '/things/1'));
      return { name: (request.body as { name: string }).name };
    });
    app.get('/limited', async () => {
      throw new RateLimited(7);
    });
    app.get('/fails', async () => {
      throw new Error('an unexpected failure');
    });
  };
}

type Answer = { status: number; headers: Headers; body: any };

async function call(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

const json = (body: string, type = 'application/json'): RequestInit => ({ method: 'POST', headers: { 'content-type': type }, body });

for (const database of testDatabases) {
  describe(`the surface contract [${database.name}]`, () => {
    let listeners: Listeners;
    let cleanup: () => Promise<void>;
    const seen: string[] = [];
    let main: string;
    let own: string;
    before(async () => {
      const opened = await database.open();
      cleanup = opened.cleanup;
      await migrateToLatest(opened.store);
      const services = createCoreServices(opened.store, { secrets: createSecretBox(TEST_SECRET_KEY) });
      const contract: Surface = { name: 'contract', prefix: '/compat/contract', port: 0, plugin: contractSurface(seen) };
      listeners = await buildListeners({ surfaces: [...mountTable(services, {}), contract], logger: createLogger('silent'), bodyLimit: BODY_LIMIT, checkReady: () => opened.store.ping() });
      await listeners.listen('127.0.0.1', 0);
      main = `http://127.0.0.1:${(listeners.main.server.address() as AddressInfo).port}`;
      own = `http://127.0.0.1:${(listeners.own[0]!.app.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await listeners.close();
      await cleanup();
    });

    // The same surface at its prefix on the main listener, and at the root of its own.
    const mounts = () => [
      { where: 'at its prefix', base: `${main}/compat/contract` },
      { where: 'on its own port', base: own },
    ];

    it('answers its routes and writes links under the prefix or root the request came through', async () => {
      for (const { where, base } of mounts()) {
        const created = await call(base, '/things', json('{"name": "a"}'));
        assert.equal(created.status, 201, where);
        assert.equal(created.headers.get('location'), `${base}/things/1`, where);
        assert.ok(created.headers.get('x-request-id'), where);
        assert.equal((await call(base, '/things')).body.next, `${base}/things?page=2`, where);
      }
    });

    it("renders the framework's own errors in its shape on both listeners", async () => {
      for (const { where, base } of mounts()) {
        const cases: [string, Promise<Answer>, number, string][] = [
          ['broken JSON', call(base, '/things', json('{"name": ')), 400, 'parse_error'],
          ['schema validation', call(base, '/things', json('{}')), 400, 'invalid'],
          ['unknown route', call(base, '/nowhere'), 404, 'not_found'],
          ['wrong method', call(base, '/things', { method: 'DELETE' }), 405, 'method_not_allowed'],
          ['body over the limit', call(base, '/things', json(JSON.stringify({ name: 'x'.repeat(BODY_LIMIT) }))), 413, 'request_too_large'],
          ['unsupported media type', call(base, '/things', json('name=a', 'application/x-www-form-urlencoded')), 415, 'unsupported_media_type'],
          ['malformed URL', call(base, '/things/%zz'), 400, 'bad_request'],
          ['rate limit', call(base, '/limited'), 429, 'throttled'],
          ['unexpected failure', call(base, '/fails'), 500, 'failure'],
        ];
        for (const [what, answer, status, kind] of cases) {
          const { status: got, body } = await answer;
          assert.equal(got, status, `${what} ${where}: ${JSON.stringify(body)}`);
          assert.deepEqual(Object.keys(body), ['fault'], `${what} ${where}`);
          assert.equal(body.fault.status, status, `${what} ${where}`);
          assert.equal(body.fault.kind, kind, `${what} ${where}`);
        }
        const wrongMethod = await call(base, '/things', { method: 'DELETE' });
        assert.equal(wrongMethod.headers.get('allow'), 'GET, POST, HEAD, OPTIONS', where);
        assert.equal((await call(base, '/limited')).headers.get('retry-after'), '7', where);
        const options = await fetch(`${base}/things`, { method: 'OPTIONS' });
        assert.equal(options.status, 204, where);
        assert.equal(options.headers.get('allow'), 'GET, POST, HEAD, OPTIONS', where);
      }
    });

    it('leaves /api/ its native shapes on the main listener', async () => {
      const unknown = await call(main, '/api/nowhere/');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.code, 'not_found');
      assert.equal(typeof unknown.body.detail, 'string');
      const broken = await call(main, '/api/auth/login/', json('{"username": '));
      assert.equal(broken.status, 400);
      assert.match(broken.body.detail, /^JSON parse error - Expecting value: line 1 column 14/);
      const malformed = await call(main, '/api/%zz/');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.code, 'bad_request');
      const options = await call(main, '/api/version/', { method: 'OPTIONS' });
      assert.deepEqual(options.body.allow, ['GET', 'HEAD', 'OPTIONS']);
      const wrongMethod = await call(main, '/api/version/', { method: 'DELETE' });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.body.code, 'method_not_allowed');
      assert.equal((await call(main, '/healthz')).body.status, 'ok');
    });

    it('never lets a request to one surface reach another', async () => {
      seen.length = 0;
      // Native paths under the contract surface are the contract surface's unknown routes, and the reverse.
      const nativeUnderContract = await call(`${main}/compat/contract`, '/api/version/');
      assert.deepEqual([nativeUnderContract.status, nativeUnderContract.body.fault?.kind], [404, 'not_found']);
      assert.equal((await call(own, '/api/version/')).body.fault.kind, 'not_found');
      const contractUnderApi = await call(main, '/api/things');
      assert.deepEqual([contractUnderApi.status, contractUnderApi.body.code], [404, 'not_found']);
      // Native requests never pass through the contract surface's hooks...
      await call(main, '/api/version/');
      await call(main, '/things');
      assert.deepEqual(seen, ['/compat/contract/api/version/', '/api/version/']);
      // ...nor its requests through native authentication, rate limits or version negotiation.
      const things = await call(own, '/things', { headers: { accept: 'application/json; api_version=99' } });
      assert.equal(things.status, 200);
      assert.equal(things.headers.get('ratelimit-limit'), null);
      assert.equal(things.headers.get('vary'), null);
      // The main listener's own routes are not on a surface's listener.
      assert.equal((await call(own, '/healthz')).status, 404);
      assert.equal((await call(own, '/metrics')).status, 404);
    });
  });
}
