import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { injectBounded } from '../../support/inject.ts';
import { registeredRoutes, type RegisteredRoute } from '../../support/routes.ts';

/** Runs per route: enough to find a crash on a new route, few enough to stay a couple of seconds. */
const RUNS_PER_ROUTE = 150;
const BODY_LIMIT = 1024 * 1024;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const QUERY_NAMES = ['page', 'page_size', 'cursor', 'search', 'ordering', 'parent', 'slug', 'name', 'org_id', 'format'];
const MALFORMED_PATHS = ['/api/%zz/', '/%', '/api/iam/organizations/%E0%A4%A/'];
const MALFORMED_QUERIES = ['%', '%zz', 'a=%E0%A4%A', '&&=&', 'page=1&page=2', 'page[]=1', 'page_size=1e400', 'cursor=%00', 'search=%FF%FE', '=x'];
const MALFORMED_BODIES = ['{', '{"name": }', '[', 'null', 'true', '"x"', '1e999', '{"name":"x"}}', '\u0000', '{"__proto__": {"x": 1}}', '{"constructor": {"prototype": {}}}'];

/** Mostly well-formed, so that requests get past authentication and into the handlers. */
function usually<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: bad, weight: 1 });
}

/** The OAuth protocol endpoints answer in RFC 6749's shape (the consent page in HTML), ComputeStacks' copy of them too. */
const OAUTH_PROTOCOL = /^(\/compat\/computestacks)?\/(api\/oauth\/(authorize|token|revoke|introspect)|\.well-known\/oauth-authorization-server)\/?(\?|$)/;

function assertErrorShape(url: string, response: { headers: Record<string, unknown>; body: string; json(): any }, what: string): void {
  if (OAUTH_PROTOCOL.test(url) && String(response.headers['content-type']).startsWith('text/html')) {
    assert.match(response.body, /^<!doctype html>/i, `not an HTML error page: ${what}`);
    return;
  }
  const body = response.json();
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `not an error object: ${what}`);
  if (OAUTH_PROTOCOL.test(url) && typeof body.error === 'string') return;
  const [, isShape, shape] = SURFACE_ERROR_SHAPES.find(([prefix]) => url.startsWith(prefix)) ?? NATIVE_ERROR_SHAPE;
  assert.ok(isShape(body), `not ${shape}: ${what}`);
}

/** A compute route of a process that runs no servers answers 503 in its surface's words. */
function saysComputeUnavailable(url: string, body: Record<string, any>): boolean {
  if (url.startsWith('/compat/scaleway/')) return body.type === 'api_error';
  if (url.startsWith('/compat/cloudmc/')) return body.errors?.[0]?.code === 1050;
  if (url.startsWith('/compat/scalingo/')) return typeof body.error === 'string' && body.error.startsWith('Compute is not configured');
  return body.code === 'compute_unavailable';
}

type ErrorShape = [prefix: string, isShape: (body: Record<string, unknown>) => boolean, shape: string];
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const NATIVE_ERROR_SHAPE: ErrorShape = ['/', (body) => typeof body.detail === 'string' || Object.values(body).every(Array.isArray), '{"detail"} or field errors'];
/** Every compatibility surface answers errors in its own platform's shape, the framework's own included. */
const SURFACE_ERROR_SHAPES: ErrorShape[] = [
  ['/compat/cloudmc/', (body) => Array.isArray(body.errors) && body.errors.every((e) => isObject(e) && typeof e.code === 'number' && typeof e.message === 'string'), '{"errors": [{"code", "message"}]}'],
  ['/compat/scalingo/', (body) => typeof body.error === 'string' || (isObject(body.errors) && Object.values(body.errors).every(Array.isArray)), '{"error"} or {"errors": {field: [...]}}'],
  ['/compat/scaleway/', (body) => typeof body.type === 'string' && typeof body.message === 'string', '{"type", "message"}'],
  ['/compat/computestacks/', (body) => Array.isArray(body.errors) && body.errors.length > 0 && body.errors.every((e) => typeof e === 'string'), '{"errors": ["..."]}'],
];

function requestFor(route: RegisteredRoute, knownIds: string[], token: string): fc.Arbitrary<InjectOptions> {
  const id = fc.oneof(fc.constantFrom(...knownIds), fc.uuid(), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
  const routePath = fc.tuple(id, fc.string({ maxLength: 20 }), fc.boolean()).map(([value, rest, slash]) => {
    const url = route.url.replace(':id', encodeURIComponent(value)).replace('*', encodeURIComponent(rest));
    return slash ? `${url}/` : url;
  });
  const path = usually(routePath, fc.constantFrom(...MALFORMED_PATHS));
  const queryValue = fc.oneof(
    { arbitrary: fc.constantFrom('-name', 'name,-slug', '', '0', '-1', '99999999999999999999', '\u0000', 'a\u0000', '%', '_', '\\', "'", '"', ...knownIds), weight: 3 },
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.integer().map(String),
  );
  const pair = fc.tuple(usually(fc.constantFrom(...QUERY_NAMES), fc.string({ maxLength: 10 })), queryValue).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  const query = usually(fc.array(pair, { maxLength: 4 }).map((pairs) => pairs.join('&')), fc.constantFrom(...MALFORMED_QUERIES));
  const headerText = fc.string({ maxLength: 60 }).map((s) => s.trim());
  const headers = fc.record(
    {
      authorization: usually(fc.constantFrom(`token="${token}"`, `Bearer ${token}`), fc.oneof(headerText, fc.constantFrom('Basic Og==', `token="${token.slice(0, -1)}"`))),
      'content-type': fc.oneof(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/merge-patch+json', 'multipart/form-data; boundary=x', ';;'), headerText),
      accept: fc.oneof(fc.constantFrom('application/json; api_version=1', 'application/json; api_version=2', 'application/json; api_version=', '*/*'), headerText),
      'x-request-id': headerText,
      'if-match': fc.oneof(fc.constantFrom('*', '"00000000.1"', 'W/"x"', '"a.b", "c"'), headerText),
      'if-none-match': fc.oneof(fc.constant('*'), headerText),
      'x-auth-token': headerText,
      host: usually(fc.constantFrom('localhost', '127.0.0.1:8080', '[::1]:80'), headerText),
    },
    { requiredKeys: ['authorization', 'host'] },
  );
  const json = fc.oneof(
    fc.record(
      {
        name: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('a\u0000b', '%_', '', ' '), fc.jsonValue()),
        slug: fc.oneof(fc.string(), fc.constantFrom('ok-slug', 'a\u0000'), fc.jsonValue()),
        parent: fc.oneof(fc.constantFrom(...knownIds, null), fc.uuid(), fc.jsonValue()),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue(),
  );
  const body = usually(json.map((v) => JSON.stringify(v) ?? 'null'), fc.oneof(fc.constantFrom(...MALFORMED_BODIES), fc.string({ unit: 'binary', maxLength: 200 }), fc.constant(undefined)));
  return fc.record({ method: fc.constantFrom(...METHODS, ...route.methods, ...route.methods), path, query, headers, body }).map(({ method, path, query, headers, body }) => ({
    method,
    url: query ? `${path}?${query}` : path,
    headers,
    ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload: body }),
  }));
}

for (const database of testDatabases) {
  describe(`no input makes a 500 [${database.name}]`, () => {
    let app: TestApp;
    let knownIds: string[];

    before(async () => {
      app = await startTestApp(database, { bodyLimit: BODY_LIMIT });
      const root = (await app.request({ method: 'GET', url: '/api/iam/organizations/' })).json().results[0];
      const child = (await app.request({ method: 'POST', url: '/api/iam/organizations/', payload: { name: 'Child' } })).json();
      knownIds = [root.id, child.id];
    });
    after(() => app.close());

    it('fuzzes every registered route with random and malformed bodies, query strings and headers', async () => {
      const routes = registeredRoutes(app.nimbus.http);
      assert.ok(routes.length >= 10, 'the route table was read');
      for (const route of routes) {
        await fc.assert(
          fc.asyncProperty(requestFor(route, knownIds, app.token), async (request) => {
            let response;
            try {
              response = await injectBounded(app.nimbus.http, request);
            } catch (error) {
              // The test client itself refuses some header values; that is not the server's answer.
              if ((error as { code?: string }).code === 'ERR_INVALID_CHAR' || (error as { code?: string }).code === 'ERR_HTTP_INVALID_HEADER_VALUE') return;
              throw error;
            }
            const what = `${request.method} ${request.url} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
            // This app runs no servers: a compute request that gets that far is refused with the documented 503.
            const computeUnavailable = response.statusCode === 503 && saysComputeUnavailable(String(request.url), response.json());
            assert.ok(response.statusCode < 500 || computeUnavailable, what);
            assert.ok(response.headers['x-request-id'], `no X-Request-Id: ${what}`);
            if (response.statusCode >= 400 && request.method !== 'HEAD') assertErrorShape(String(request.url), response, what);
          }),
          { numRuns: RUNS_PER_ROUTE, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
        );
      }
      assert.equal(app.logs().includes('"level":50'), false, 'no request was logged as a server error');
    });

    it('answers deeply nested and huge bodies on every route with a 4xx in its own shape, with or without an Idempotency-Key', async () => {
      const routes = registeredRoutes(app.nimbus.http);
      let keys = 0;
      const bodies: [string, string][] = [
        ['arrays nested 50,000 deep', '['.repeat(50_000) + ']'.repeat(50_000)],
        ['objects nested 50,000 deep', '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000)],
        ['a task input nested 50,000 deep', `{"type":"noop","input":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`],
        ['nesting hidden in strings, then deep', `{"name":"${'['.repeat(1000)}","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`],
        ['over the body limit', `{"name":"${'x'.repeat(BODY_LIMIT)}"}`],
        ['just under the body limit', `{"name":"${'x'.repeat(BODY_LIMIT - 100)}"}`],
        ['100,000 array items', `{"name":[${'1,'.repeat(99_999)}1]}`],
        ['10,000 keys', `{${Array.from({ length: 10_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
      ];
      for (const route of routes) {
        const url = route.url.replace(':id', knownIds[1]!).replace('*', 'x');
        for (const method of route.methods.filter((m) => ['POST', 'PUT', 'PATCH'].includes(m))) {
          for (const [what, payload] of bodies) {
            for (const idempotencyKey of [undefined, `deep-${(keys += 1)}`]) {
              const response = await injectBounded(app.nimbus.http, {
                method,
                url,
                payload,
                headers: { authorization: `token="${app.token}"`, 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
              });
              const said = `${method} ${url} with ${what}${idempotencyKey ? ' and an Idempotency-Key' : ''} -> ${response.statusCode} ${response.body.slice(0, 200)}`;
              const computeUnavailable = response.statusCode === 503 && response.json().code === 'compute_unavailable';
              assert.ok(response.statusCode < 500 || computeUnavailable, said);
              if (response.statusCode >= 400) assertErrorShape(url, response, said);
              if (what.includes('deep') && response.statusCode === 400 && response.json().code === 'parse_error') assert.match(response.json().detail ?? '', /JSON parse error - Nested deeper than \d+ levels/, said);
            }
          }
        }
      }
      assert.equal(app.logs().includes('"level":50'), false, 'no request was logged as a server error');
    });
  });
}
