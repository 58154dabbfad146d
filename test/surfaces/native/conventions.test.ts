import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { injectBounded } from '../../support/inject.ts';
import { registeredRoutes } from '../../support/routes.ts';

const COLLECTION = '/api/iam/organizations/';
const BASE = 'http://localhost:80';

interface Org {
  id: string;
  name: string;
  slug: string;
  parent: string | null;
  created_at: string;
}

for (const database of testDatabases) {
  describe(`native API conventions [${database.name}]`, () => {
    let app: TestApp;
    let root: Org;
    /** 30 sub-organizations, some sharing a name, so orderings have ties to break. */
    const created: Org[] = [];

    before(async () => {
      app = await startTestApp(database);
      root = (await app.request({ method: 'GET', url: COLLECTION })).json().results[0];
      for (let i = 0; i < 30; i++) {
        const name = i % 5 === 0 ? 'Twin' : `Org ${String(i).padStart(2, '0')}`;
        const res = await app.request({ method: 'POST', url: COLLECTION, payload: { name } });
        assert.equal(res.statusCode, 201, res.body);
        created.push(res.json());
      }
    });
    after(() => app.close());

    const get = (url: string, headers: Record<string, string> = {}) => app.request({ method: 'GET', url, headers });
    const create = async (name: string): Promise<Org> => (await app.request({ method: 'POST', url: COLLECTION, payload: { name } })).json();
    const remove = (org: Org) => app.request({ method: 'DELETE', url: `${COLLECTION}${org.id}/` });

    describe('trailing slashes, links and Location', () => {
      it('answers a URL with and without its trailing slash alike', async () => {
        for (const path of ['/api/status', '/api/iam/organizations', `/api/iam/organizations/${root.id}`]) {
          const [bare, slashed] = [await get(path), await get(`${path}/`)];
          assert.equal(bare.statusCode, 200, path);
          assert.equal(slashed.statusCode, 200, path);
          if (!path.endsWith('status')) assert.deepEqual(bare.json(), slashed.json());
        }
      });

      it('gives absolute links with the slash, from the Host the client used', async () => {
        const res = await app.request({ method: 'POST', url: '/api/iam/organizations', payload: { name: 'Located' }, headers: { host: 'cloud.example.test:8443' } });
        assert.equal(res.statusCode, 201);
        const org = res.json();
        assert.equal(res.headers.location, `http://cloud.example.test:8443/api/iam/organizations/${org.id}/`);
        assert.equal(org.url, res.headers.location);
        const list = await get('/api/iam/organizations?page_size=5&search=org');
        for (const link of String(list.headers.link).split(', ')) {
          assert.match(link, /^<http:\/\/localhost:80\/api\/iam\/organizations\/\?search=org&page=\d+&page_size=5>; rel="(first|prev|next|last)"$/);
        }
        await remove(org);
      });

      it('replaces the pagination parameters in links however they were written, and keeps the others encoded again', async () => {
        const list = await get(`${COLLECTION}?page%5Fsize=5&search=org%20&page=2`);
        assert.equal(list.statusCode, 200);
        const links = String(list.headers.link).split(', ');
        assert.equal(links.length, 4);
        for (const link of links) assert.match(link, /^<http:\/\/localhost:80\/api\/iam\/organizations\/\?search=org\+&page=\d+&page_size=5>; rel="(first|prev|next|last)"$/);
        const cursors = await get(`${COLLECTION}?cursor=&page_size=5&search=org`);
        assert.match(String(cursors.headers.link), /^<http:\/\/localhost:80\/api\/iam\/organizations\/\?page_size=5&search=org&cursor=[\w%-]+>; rel="next"$/);
      });

      it('refuses a malformed Host header instead of building links from it', async () => {
        const res = await app.request({ method: 'GET', url: COLLECTION, headers: { host: 'bad host/x' } });
        assert.equal(res.statusCode, 400);
        assert.equal(res.json().code, 'invalid_host');
      });
    });

    describe('methods', () => {
      it('answers HEAD on every GET route with the GET headers and no body', async () => {
        const getRoutes = registeredRoutes(app.nimbus.http).filter((r) => r.methods.includes('GET') && !r.url.includes('*'));
        assert.ok(getRoutes.length >= 8);
        for (const route of getRoutes) {
          const url = `${route.url.replace(':id', root.id)}/`.replace(/\/\/$/, '/');
          const auth = { authorization: `token="${app.token}"` };
          const [got, head] = [await injectBounded(app.nimbus.http, { method: 'GET', url, headers: auth }), await injectBounded(app.nimbus.http, { method: 'HEAD', url, headers: auth })];
          assert.equal(head.statusCode, got.statusCode, url);
          assert.equal(head.body, '', url);
          assert.equal(head.headers['content-type'], got.headers['content-type'], url);
          assert.ok(head.headers['x-request-id'], url);
        }
        const head = await app.request({ method: 'HEAD', url: COLLECTION });
        assert.equal(head.headers.total, String(created.length + 1));
        assert.ok(head.headers.etag);
      });

      it('answers OPTIONS with the allowed methods', async () => {
        const collection = await app.request({ method: 'OPTIONS', url: COLLECTION });
        assert.equal(collection.statusCode, 200);
        assert.equal(collection.headers.allow, 'GET, POST, HEAD, OPTIONS');
        assert.deepEqual(collection.json().allow, ['GET', 'POST', 'HEAD', 'OPTIONS']);
        const item = await app.request({ method: 'OPTIONS', url: `/api/iam/organizations/${root.id}` });
        assert.equal(item.headers.allow, 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS');
        assert.deepEqual(item.json().renders, ['application/json']);
      });

      it('answers a method a route does not have with 405 and Allow', async () => {
        for (const [method, url, allow] of [
          ['DELETE', COLLECTION, 'GET, POST, HEAD, OPTIONS'],
          ['POST', `${COLLECTION}${root.id}/`, 'GET, PUT, PATCH, DELETE, HEAD, OPTIONS'],
          ['PUT', '/api/status/', 'GET, HEAD, OPTIONS'],
        ] as const) {
          const res = await app.request({ method, url, payload: {} });
          assert.equal(res.statusCode, 405, `${method} ${url}`);
          assert.equal(res.headers.allow, allow);
          assert.equal(res.json().code, 'method_not_allowed');
          assert.equal(res.json().detail, `Method "${method}" not allowed.`);
        }
        const unknown = await get('/api/nothing-here/');
        assert.equal(unknown.statusCode, 404);
        assert.deepEqual(Object.keys(unknown.json()).sort(), ['code', 'detail', 'request_id']);
      });
    });

    describe('request bodies', () => {
      it('accepts JSON only: any other media type is a 415 and changes nothing', async () => {
        for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
          const res = await app.request({ method: 'POST', url: COLLECTION, payload: 'name=x', headers: { 'content-type': type } });
          assert.equal(res.statusCode, 415, type);
          assert.equal(res.json().code, 'unsupported_media_type');
          assert.match(res.json().detail, /Send application\/json/);
        }
        const json = await app.request({ method: 'POST', url: COLLECTION, payload: JSON.stringify({ name: 'Charset' }), headers: { 'content-type': 'application/json; charset=utf-8' } });
        assert.equal(json.statusCode, 201);
        await remove(json.json());
      });

      it('refuses a body over the size limit with 413', async () => {
        const small = await startTestApp(database, { bodyLimit: 256 });
        try {
          const res = await small.request({ method: 'POST', url: COLLECTION, payload: { name: 'x'.repeat(300) } });
          assert.equal(res.statusCode, 413);
          assert.equal(res.json().code, 'request_too_large');
          assert.match(res.json().detail, /limit of 256 bytes/);
          assert.equal((await small.request({ method: 'POST', url: COLLECTION, payload: { name: 'fits' } })).statusCode, 201);
        } finally {
          await small.close();
        }
      });

      it('says where broken JSON breaks: line, column and character', async () => {
        const cases = [
          ['{\n  "name": "x",\n}', 'Expecting property name enclosed in double quotes: line 3 column 1 (char 17)'],
          ['{"name": }', 'Expecting value: line 1 column 10 (char 9)'],
          ['{"name": "x"', "Expecting ',' delimiter: line 1 column 13 (char 12)"],
          ['{"name": "x"} trailing', 'Extra data: line 1 column 15 (char 14)'],
        ];
        for (const [payload, where] of cases) {
          const res = await app.request({ method: 'POST', url: COLLECTION, payload, headers: { 'content-type': 'application/json' } });
          assert.equal(res.statusCode, 400, payload);
          assert.deepEqual(res.json(), { detail: `JSON parse error - ${where}`, code: 'parse_error', request_id: res.headers['x-request-id'] });
        }
      });

      it('reports validation errors per field, and non_field_errors for a body that is not an object', async () => {
        const fields = await app.request({ method: 'POST', url: COLLECTION, payload: { name: 5, slug: 'x'.repeat(64) } });
        assert.equal(fields.statusCode, 400);
        assert.deepEqual(fields.json(), { name: ['Not a valid string.'], slug: ['Ensure this field has no more than 63 characters.'] });
        for (const [payload, got] of [['[1, 2]', 'list'], ['"text"', 'str'], ['42', 'int']]) {
          const res = await app.request({ method: 'POST', url: COLLECTION, payload, headers: { 'content-type': 'application/json' } });
          assert.equal(res.statusCode, 400);
          assert.deepEqual(res.json(), { non_field_errors: [`Invalid data. Expected a dictionary, but got ${got}.`] });
        }
        const nul = await app.request({ method: 'POST', url: COLLECTION, payload: { name: 'a\u0000b' } });
        assert.deepEqual(nul.json(), { name: ['Null characters are not allowed.'] });
        const query = await get(`${COLLECTION}?page=zero&search=%00`);
        assert.equal(query.statusCode, 400);
        assert.deepEqual(query.json(), { page: ['A valid integer is required.'] });
        assert.deepEqual((await get(`${COLLECTION}?search=a%00`)).json(), { search: ['Null characters are not allowed.'] });
        // Fields named like Object.prototype's members are fields like any other.
        for (const name of ['toString', 'constructor', '__proto__']) {
          const odd = await get(`${COLLECTION}?${name}=a%00`);
          assert.equal(odd.statusCode, 400, odd.body);
          assert.deepEqual(odd.json(), { [name]: ['Null characters are not allowed.'] });
        }
      });
    });

    describe('page-number pagination', () => {
      it('returns the envelope and the Per-Page, Total and Link headers', async () => {
        const total = created.length + 1;
        const res = await get(`${COLLECTION}?page=2&page_size=10`);
        assert.equal(res.statusCode, 200);
        const body = res.json();
        assert.deepEqual({ ...body, results: body.results.length }, { count: total, current: 2, next: 3, previous: 1, last: 4, results: 10 });
        assert.equal(res.headers['per-page'], '10');
        assert.equal(res.headers.total, String(total));
        const url = (page: number) => `${BASE}${COLLECTION}?page=${page}&page_size=10`;
        assert.equal(res.headers.link, `<${url(1)}>; rel="first", <${url(1)}>; rel="prev", <${url(3)}>; rel="next", <${url(4)}>; rel="last"`);
        const last = (await get(`${COLLECTION}?page=4&page_size=10`)).json();
        assert.deepEqual([last.count, last.next, last.previous, last.results.length], [total, null, 3, total - 30]);
      });

      it('caps page_size at 100 and defaults it to 15', async () => {
        const capped = await get(`${COLLECTION}?page_size=1000`);
        assert.equal(capped.headers['per-page'], '100');
        assert.equal(capped.json().results.length, created.length + 1);
        assert.equal((await get(COLLECTION)).json().results.length, 15);
      });

      it('answers a page past the end with 404 "Invalid page." and a bad page number with 400', async () => {
        for (const page of ['5', '99999999999999999999']) {
          const past = await get(`${COLLECTION}?page=${page}&page_size=10`);
          assert.equal(past.statusCode, 404, page);
          assert.equal(past.json().detail, 'Invalid page.');
        }
        const zero = await get(`${COLLECTION}?page=0`);
        assert.equal(zero.statusCode, 400);
        assert.deepEqual(zero.json(), { page: ['Ensure this value is greater than or equal to 1.'] });
        const empty = await get(`${COLLECTION}?page=1&slug=no-such-slug`);
        assert.deepEqual(empty.json(), { count: 0, current: 1, next: null, previous: null, last: 1, results: [] });
      });
    });

    describe('cursor pagination', () => {
      /** Follows `next` from the start, then `previous` back from the end; both must see every item once, in order. */
      async function walk(ordering: string) {
        const all = (await get(`${COLLECTION}?page_size=100&ordering=${ordering}`)).json().results.map((o: Org) => o.id);
        const forward: string[][] = [];
        let page = (await get(`${COLLECTION}?cursor=&page_size=7&ordering=${ordering}`)).json();
        assert.equal(page.previous, null);
        forward.push(page.results.map((o: Org) => o.id));
        while (page.next) {
          const res = await get(`${COLLECTION}?cursor=${page.next}&page_size=7&ordering=${ordering}`);
          assert.equal(res.statusCode, 200, res.body);
          assert.ok(res.headers.link?.includes('rel="prev"'));
          page = res.json();
          forward.push(page.results.map((o: Org) => o.id));
        }
        assert.deepEqual(forward.flat(), all, `forward walk by ${ordering}`);
        const backward: string[][] = [];
        while (page.previous) {
          page = (await get(`${COLLECTION}?cursor=${page.previous}&page_size=7&ordering=${ordering}`)).json();
          backward.unshift(page.results.map((o: Org) => o.id));
        }
        assert.deepEqual([...backward.flat(), ...forward.at(-1)!], all, `backward walk by ${ordering}`);
        return forward;
      }

      it('walks forward and backward with no gap and no duplicate, whatever the ordering', async () => {
        const pages = await walk('name');
        assert.equal(pages.length, Math.ceil((created.length + 1) / 7));
        await walk('-created_at');
        await walk('-name,created_at');
      });

      it('refuses a cursor it did not make, or made for another ordering, with 400', async () => {
        for (const cursor of ['garbage', Buffer.from('{"d":"n","o":"name","v":[1]}').toString('base64url'), Buffer.from('[]').toString('base64url')]) {
          const res = await get(`${COLLECTION}?cursor=${cursor}`);
          assert.equal(res.statusCode, 400, cursor);
          assert.deepEqual(res.json(), { cursor: ['Invalid cursor.'] });
        }
        const made = (await get(`${COLLECTION}?cursor=&page_size=2&ordering=name`)).json().next;
        assert.equal((await get(`${COLLECTION}?cursor=${made}&ordering=slug`)).statusCode, 400);
      });
    });

    describe('filters, search and ordering', () => {
      it('filters on declared fields and validates filter values', async () => {
        assert.deepEqual((await get(`${COLLECTION}?slug=default`)).json().results.map((o: Org) => o.id), [root.id]);
        const twins = (await get(`${COLLECTION}?name=Twin`)).json();
        assert.equal(twins.count, 6);
        const child = (await app.request({ method: 'POST', url: COLLECTION, payload: { name: 'Child', parent: created[1]!.id } })).json();
        assert.deepEqual((await get(`${COLLECTION}?parent=${created[1]!.id}`)).json().results.map((o: Org) => o.id), [child.id]);
        const bad = await get(`${COLLECTION}?parent=not-a-uuid`);
        assert.equal(bad.statusCode, 400);
        assert.deepEqual(bad.json(), { parent: ['"not-a-uuid" is not a valid UUID.'] });
        await remove(child);
      });

      it('searches names and slugs case-insensitively, with % and _ taken literally', async () => {
        const specials = [await create('100% Real'), await create('100 Real'), await create('snake_case'), await create('snakeXcase')];
        const names = async (search: string) => (await get(`${COLLECTION}?search=${encodeURIComponent(search)}&page_size=100`)).json().results.map((o: Org) => o.name).sort();
        assert.deepEqual(await names('%'), ['100% Real']);
        assert.deepEqual(await names('0% r'), ['100% Real']);
        assert.deepEqual(await names('e_c'), ['snake_case']);
        assert.deepEqual(await names('SNAKE'), ['snakeXcase', 'snake_case']);
        assert.deepEqual(await names('\\'), []);
        for (const org of specials) await remove(org);
      });

      it('orders by declared fields, descending with -, and refuses others with 400', async () => {
        const names = (await get(`${COLLECTION}?ordering=-name&page_size=100`)).json().results.map((o: Org) => o.name);
        assert.deepEqual(names, [...names].sort().reverse());
        assert.equal(names.length, created.length + 1);
        const bad = await get(`${COLLECTION}?ordering=password`);
        assert.equal(bad.statusCode, 400);
        assert.deepEqual(bad.json(), { ordering: ['Cannot order by "password". Choose from: name, slug, created_at, updated_at.'] });
      });
    });

    describe('versions and request ids', () => {
      it('serves the version publicly and honours api_version in Accept', async () => {
        const version = await app.request({ method: 'GET', url: '/api/version/', token: null });
        assert.equal(version.statusCode, 200);
        assert.deepEqual(version.json(), { version: '0.1.0', api_versions: [1], current_api_version: 1 });
        const one = await get('/api/status/', { accept: 'application/json; api_version=1' });
        assert.equal(one.statusCode, 200);
        assert.equal(one.json().api_version, 1);
        for (const accept of ['application/json; api_version=2', 'application/json;api_version="x"']) {
          const res = await get('/api/status/', { accept });
          assert.equal(res.statusCode, 422, accept);
          assert.equal(res.json().code, 'unsupported_version');
          assert.deepEqual(res.json().supported_versions, [1]);
        }
      });

      it('puts X-Request-Id on every response: the caller\'s when sane, a new one otherwise', async () => {
        const fresh = await get('/api/status/');
        assert.match(String(fresh.headers['x-request-id']), /^[0-9a-f-]{36}$/);
        assert.equal((await get('/api/status/', { 'x-request-id': 'trace-42.a:b' })).headers['x-request-id'], 'trace-42.a:b');
        for (const insane of ['has spaces', 'x'.repeat(201), 'quote"d']) {
          const res = await get('/api/status/', { 'x-request-id': insane });
          assert.notEqual(res.headers['x-request-id'], insane);
          assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
        }
        const error = await get('/api/nothing/', { 'x-request-id': 'err-1' });
        assert.equal(error.headers['x-request-id'], 'err-1');
        assert.equal(error.json().request_id, 'err-1');
        assert.ok((await app.request({ method: 'GET', url: '/healthz', token: null })).headers['x-request-id']);
        // Even a URL the router cannot decode gets one, and the native error shape.
        const badUrl = await get('/api/%zz/', { 'x-request-id': 'bad-url' });
        assert.equal(badUrl.statusCode, 400);
        assert.equal(badUrl.headers['x-request-id'], 'bad-url');
        assert.deepEqual(Object.keys(badUrl.json()).sort(), ['code', 'detail', 'request_id']);
      });
    });

    describe('entity tags', () => {
      it('answers If-None-Match with 304 when the resource is unchanged', async () => {
        const url = `${COLLECTION}${created[2]!.id}/`;
        const first = await get(url);
        const etag = String(first.headers.etag);
        assert.match(etag, /^"[0-9a-f]{8}\.1"$/);
        const again = await get(url, { 'if-none-match': etag });
        assert.equal(again.statusCode, 304);
        assert.equal(again.body, '');
        assert.equal((await get(url, { 'if-none-match': '"other"' })).statusCode, 200);
        const list = await get(COLLECTION);
        assert.equal((await get(COLLECTION, { 'if-none-match': String(list.headers.etag) })).statusCode, 304);
      });

      it('applies a write only when If-Match names the current version, 412 otherwise', async () => {
        const org = created[3]!;
        const url = `${COLLECTION}${org.id}/`;
        const etag = String((await get(url)).headers.etag);
        const stale = await app.request({ method: 'PATCH', url, payload: { name: 'Stale' }, headers: { 'if-match': '"00000000.1"' } });
        assert.equal(stale.statusCode, 412);
        assert.equal(stale.json().code, 'precondition_failed');
        const ok = await app.request({ method: 'PATCH', url, payload: { name: 'Fresh' }, headers: { 'if-match': etag } });
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal(ok.headers.etag, etag.replace('.1"', '.2"'));
        const replay = await app.request({ method: 'PATCH', url, payload: { name: 'Again' }, headers: { 'if-match': etag } });
        assert.equal(replay.statusCode, 412);
        assert.equal((await get(url)).json().name, 'Fresh');
        const gone = await app.request({ method: 'DELETE', url, headers: { 'if-match': etag } });
        assert.equal(gone.statusCode, 412);
        assert.equal((await get(url)).statusCode, 200);
      });
    });

    describe('status, health, metrics and documentation', () => {
      it('serves /api/status/ to an authenticated caller only', async () => {
        const anonymous = await app.request({ method: 'GET', url: '/api/status/', token: null });
        assert.equal(anonymous.statusCode, 401);
        const res = await get('/api/status/');
        assert.equal(res.statusCode, 200);
        assert.equal(res.json().status, 'ok');
        assert.equal(res.json().user.username, 'admin');
        assert.equal(res.json().organization.id, root.id);
      });

      it('answers /healthz and /readyz without credentials', async () => {
        const health = await app.request({ method: 'GET', url: '/healthz', token: null });
        assert.deepEqual([health.statusCode, health.json()], [200, { status: 'ok' }]);
        const ready = await app.request({ method: 'GET', url: '/readyz', token: null });
        assert.deepEqual([ready.statusCode, ready.json()], [200, { status: 'ready' }]);
      });

      it('exposes Prometheus metrics: requests by route and status, latency histograms and process figures', async () => {
        await get('/api/nothing/');
        const res = await app.request({ method: 'GET', url: '/metrics', token: null });
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        const text = res.body;
        assert.match(text, /^nimbus_http_requests_total\{method="GET",route="\/api\/iam\/organizations\/",status_code="200"\} \d+$/m);
        assert.match(text, /^nimbus_http_requests_total\{method="GET",route="unmatched",status_code="404"\} \d+$/m);
        assert.match(text, /^nimbus_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/iam\/organizations\/:id\/",status_code="200"\} \d+$/m);
        assert.match(text, /^nimbus_process_resident_memory_bytes \d+/m);
        assert.match(text, /^nimbus_nodejs_eventloop_lag_seconds /m);
        assert.doesNotMatch(text, /nothing/, 'raw URLs never become labels');
      });

      it('serves an OpenAPI 3.1 document listing the organizations operations', async () => {
        const res = await app.request({ method: 'GET', url: '/api/schema/', token: null });
        assert.equal(res.statusCode, 200);
        const doc = res.json();
        assert.equal(doc.openapi, '3.1.0');
        assert.deepEqual(Object.keys(doc.paths[COLLECTION]).sort(), ['get', 'post']);
        assert.deepEqual(Object.keys(doc.paths[`${COLLECTION}{id}/`]).sort(), ['delete', 'get', 'patch', 'put']);
        assert.ok(doc.paths['/api/status/'].get);
        assert.ok(doc.paths[COLLECTION].get.parameters.some((p: { name: string }) => p.name === 'page_size'));
      });

      it('serves the documentation UI and every asset it loads from this server', async () => {
        const page = await app.request({ method: 'GET', url: '/api/docs/', token: null });
        assert.equal(page.statusCode, 200);
        assert.match(String(page.headers['content-type']), /^text\/html/);
        const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
        assert.ok(assets.length >= 3, page.body);
        for (const asset of assets) {
          assert.doesNotMatch(asset, /^(https?:)?\/\//, `${asset} must be served locally`);
          const res = await app.request({ method: 'GET', url: new URL(asset, `${BASE}/api/docs/`).pathname, token: null });
          assert.equal(res.statusCode, 200, asset);
        }
        const initializer = await app.request({ method: 'GET', url: '/api/docs/static/swagger-initializer.js', token: null });
        assert.match(initializer.body, /\/api\/schema\//);
      });
    });
  });
}
