import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { computeSkipReason } from '../../support/compute.ts';
import { injectBounded } from '../../support/inject.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addToken, addUser, GOOD_PASSWORD, type TestUser } from '../../support/identity.ts';
import { obtainCode, pkcePair, REDIRECT_URI, tokenRequest } from '../../support/oauth.ts';
import { accepted } from './compute/support.ts';

/**
 * Cross-organization access is a 404, for every route the server registers: the sweep reads the
 * route table from the OpenAPI document, so a new route is covered (or fails here) by itself.
 */

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface Operation {
  path: string;
  method: Method;
  public: boolean;
  body?: JsonSchema;
}
interface JsonSchema {
  type?: string | string[];
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  minimum?: number;
}

/** Collections that are the same for everybody (definitions, not tenant data). */
const GLOBAL_COLLECTIONS = new Set(['/api/iam/roles/', '/api/iam/service-connections/', '/api/servers/plans/', '/api/catalog/locations/', '/api/catalog/packages/']);
/** The OAuth protocol endpoints authenticate a client application (RFC 6749), not a user acting in an organization. */
const CLIENT_AUTHENTICATED = new Set(['/api/oauth/token', '/api/oauth/revoke', '/api/oauth/introspect']);

/** A value that satisfies a JSON schema, so that body validation lets the request reach the handler. */
function sample(schema: JsonSchema): unknown {
  if (schema.anyOf) return sample(schema.anyOf.find((s) => s.type !== 'null') ?? schema.anyOf[0]!);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((name) => [name, sample(schema.properties![name]!)]));
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string':
      if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
      if (schema.format === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      return 'sweep-value';
    default:
      return null;
  }
}

function operationsOf(document: { paths: Record<string, Record<string, { security?: unknown[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    if (!path.startsWith('/api/') || CLIENT_AUTHENTICATED.has(path)) continue;
    for (const [method, operation] of Object.entries(methods)) {
      const upper = method.toUpperCase();
      if (!['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(upper)) continue;
      operations.push({
        path,
        method: upper as Method,
        public: Array.isArray(operation.security) && operation.security.length === 0,
        body: operation.requestBody?.content['application/json']?.schema,
      });
    }
  }
  return operations;
}

/**
 * B's servers, volumes, snapshots, images and commands: a running server, a volume, its snapshot,
 * an image from it, a command; and on the server a web shell session, shared, and a file upload
 * and download. Answers the ids of what collections without a list route hold.
 */
async function addComputeResources(app: TestApp, token: string): Promise<Map<string, string>> {
  const server = await accepted(app, { method: 'POST', url: '/api/servers/servers/', token, payload: { name: 'sweep-server', memory: 32 * 1024 * 1024, start: true } });
  const volume = await accepted(app, { method: 'POST', url: '/api/storage/volumes/', token, payload: { name: 'sweep-volume', size: 16 * 1024 * 1024 } });
  const snapshot = await accepted(app, { method: 'POST', url: '/api/storage/snapshots/', token, payload: { name: 'sweep-snapshot', volume: server.root_volume } });
  await accepted(app, { method: 'POST', url: '/api/images/images/', token, payload: { name: 'sweep-image', snapshot: snapshot.id } });
  await app.request({ method: 'POST', url: '/api/events/commands/', token, payload: { shell: 'system', line: 'true', server: server.id } });
  assert.ok(volume.id);
  const created = async (url: string, payload: object) => {
    const res = await app.request({ method: 'POST', url, token, payload });
    assert.equal(res.statusCode, 201, `${url}: ${res.body}`);
    return res.json();
  };
  const session = await created('/api/websh/sessions/', { server: server.id, rows: 24, cols: 80 });
  const share = await created(`/api/websh/sessions/${session.id}/share/`, {});
  const upload = await created('/api/webftp/uploads/', { name: 'sweep.txt', path: '/tmp/', server: server.id });
  const download = await created('/api/webftp/downloads/', { path: '/etc/hostname', server: server.id });
  await created('/api/servers/notes/', { server: server.id, content: 'sweep note' });
  await created('/api/security/server-acl/', { token: (await addToken(app, token, ['*'])).id, server: server.id });
  return new Map([
    ['/api/websh/user-channels/', new URL(share.shared_url).searchParams.get('channel')!],
    ['/api/webftp/uploads/', upload.id],
    ['/api/webftp/downloads/', download.id],
  ]);
}

for (const database of testDatabases) {
  describe(`tenancy sweep over every route [${database.name}]`, () => {
    let app: TestApp;
    let operations: Operation[];
    let orgB: string;
    /** B's items in collections that have no list route to find them by. */
    let unlisted = new Map<string, string>();
    let alice: TestUser; // admin of organization A
    let bob: TestUser; // admin of organization B, A's sibling
    before(async () => {
      app = await startTestApp(database, { compute: computeSkipReason() === null });
      const orgA = await addOrganization(app, 'Sweep A');
      orgB = await addOrganization(app, 'Sweep B');
      alice = await addUser(app, 'sweep-alice', { role: 'admin', organization: orgA });
      bob = await addUser(app, 'sweep-bob', { role: 'admin', organization: orgB });
      // Something of every kind inside B, created by B's admin.
      await addOrganization(app, 'Sweep B child', { token: bob.session });
      await addUser(app, 'sweep-bob-colleague', { token: bob.session });
      await app.request({ method: 'POST', url: '/api/iam/groups/', token: bob.session, payload: { name: 'sweep-group' } });
      const bobToken = await addToken(app, bob.session, ['*']);
      assert.equal((await app.request({ method: 'POST', url: '/api/servers/registration-tokens/', token: bob.session, payload: { name: 'sweep-registration' } })).statusCode, 201);
      for (const [kind, rule] of [['command', { command: 'true' }], ['file', { path: '/tmp/*', action: '*' }]] as const) {
        assert.equal((await app.request({ method: 'POST', url: `/api/security/${kind}-acl/`, token: bob.session, payload: { token: bobToken.id, ...rule } })).statusCode, 201);
      }
      await app.request({ method: 'POST', url: '/api/auth/credentials/', token: bob.session, payload: {} });
      await app.request({ method: 'POST', url: '/api/auth/api-key/', token: bob.session });
      await app.request({ method: 'POST', url: '/api/iam/environments/', token: bob.session, payload: { name: 'sweep-environment', service_connection: '00000000-0000-4000-8000-00000000c0de' } });
      await app.request({ method: 'POST', url: '/api/auth/login/', token: null, payload: { username: 'sweep-bob', password: 'wrong-password!' } });
      await app.request({ method: 'POST', url: '/api/tasks/tasks/', token: bob.session, payload: { type: 'noop' } });
      const zone = (await app.request({ method: 'POST', url: '/api/dns/zones/', token: bob.session, payload: { name: 'sweep-b.test' } })).json();
      await app.request({ method: 'POST', url: `/api/dns/zones/${zone.id}/records/`, token: bob.session, payload: { name: 'www', type: 'A', ip: '192.0.2.1' } });
      assert.equal((await app.request({ method: 'POST', url: '/api/apps/apps/', token: bob.session, payload: { name: 'sweep-app-b' } })).statusCode, 201);
      assert.equal((await app.request({ method: 'POST', url: '/api/projects/projects/', token: bob.session, payload: { name: 'sweep-project' } })).statusCode, 201);
      const location = (await app.request({ method: 'GET', url: '/api/catalog/locations/', token: bob.session })).json().results[0].id;
      const size = (await app.request({ method: 'GET', url: '/api/catalog/packages/?kind=container', token: bob.session })).json().results[0].id;
      const order = { project_name: 'sweep-order', location_id: location, containers: [{ image_id: '00000000-0000-4000-8000-0000000b0500', package_id: size, command: 'exec httpd -f -p "$PORT"' }] };
      assert.equal((await app.request({ method: 'POST', url: '/api/orders/orders/', token: bob.session, payload: order })).statusCode, 201);
      assert.equal((await app.request({ method: 'POST', url: '/api/images/templates/', token: bob.session, payload: { name: 'sweep-template', image: '00000000-0000-4000-8000-0000000b0500' } })).statusCode, 201);
      // An OAuth application of B's, which B's admin has also approved for themself.
      const client = (await app.request({ method: 'POST', url: '/api/oauth/applications/', token: bob.session, payload: { name: 'sweep-app', redirect_uris: [REDIRECT_URI], scopes: ['profile_read'] } })).json();
      const { verifier, challenge } = pkcePair();
      const code = await obtainCode(app, { client_id: client.client_id, scope: 'profile_read', username: 'sweep-bob', password: GOOD_PASSWORD, code_challenge: challenge, code_challenge_method: 'S256' });
      await tokenRequest(app, client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
      if (computeSkipReason() === null) unlisted = await addComputeResources(app, bob.session);
      operations = operationsOf((await app.request({ method: 'GET', url: '/api/schema/', token: null })).json());
    });
    after(() => app.close());

    const send = (operation: Operation, url: string, token: string) =>
      app.request({ method: operation.method, url, token, ...(operation.body ? { payload: sample(operation.body) as object } : {}) });

    it('covers the identity routes (the sweep really reads the route table)', () => {
      const paths = new Set(operations.map((o) => o.path));
      for (const path of ['/api/iam/users/{id}/', '/api/iam/groups/{id}/', '/api/auth/tokens/{id}/', '/api/audit/activity/']) assert.ok(paths.has(path), path);
    });

    it('answers 404 to ?org_id= naming an organization outside the caller\'s tree, on every route and method', async () => {
      const failures: string[] = [];
      for (const operation of operations.filter((o) => !o.public)) {
        const url = `${operation.path.replaceAll('{id}', '00000000-0000-4000-8000-000000000000')}?org_id=${orgB}`;
        const res = await send(operation, url, alice.session);
        if (res.statusCode !== 404) failures.push(`${operation.method} ${operation.path}: ${res.statusCode}`);
      }
      assert.deepEqual(failures, []);
    });

    it("answers 404 to every action on another organization's resources", async () => {
      const foreignIds = new Map(unlisted);
      const failures: string[] = [];
      for (const operation of operations.filter((o) => !o.public && o.path.includes('{id}'))) {
        const collection = operation.path.slice(0, operation.path.indexOf('{id}'));
        if (GLOBAL_COLLECTIONS.has(collection)) continue;
        if (!foreignIds.has(collection)) {
          const listed = await app.request({ method: 'GET', url: `${collection}?page_size=100`, token: bob.session });
          // Public items (the built-in image) are everybody's: B's own are what A must not reach.
          const id = listed.statusCode === 200 ? listed.json().results.find((r: { public?: boolean }) => r.public !== true)?.id : undefined;
          assert.ok(id, `organization B has nothing in ${collection}: create one in the sweep's setup`);
          foreignIds.set(collection, id);
        }
        const url = operation.path.replaceAll('{id}', foreignIds.get(collection)!);
        const res = await send(operation, url, alice.session);
        if (res.statusCode !== 404) failures.push(`${operation.method} ${operation.path}: ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
      assert.deepEqual(failures, []);
      assert.ok(foreignIds.size >= 7, 'every tenant collection with an {id} route was exercised');
    });

    it("never lists another organization's resources", async () => {
      const failures: string[] = [];
      for (const operation of operations.filter((o) => !o.public && o.method === 'GET' && !o.path.includes('{id}') && !GLOBAL_COLLECTIONS.has(o.path))) {
        // Bounded reads: a live stream (events) answers and never ends; its tenancy has its own tests.
        const list = (token: string) => injectBounded(app.nimbus.http, { method: 'GET', url: `${operation.path}?page_size=100`, headers: { authorization: `token="${token}"` } });
        const [theirs, ours] = [await list(bob.session), await list(alice.session)];
        if (theirs.statusCode !== 200 || !String(theirs.headers['content-type']).startsWith('application/json') || !Array.isArray(theirs.json().results)) continue;
        const foreign = new Set(theirs.json().results.filter((r: { public?: boolean }) => r.public !== true).map((r: { id: string }) => r.id));
        const leaked = (ours.json().results ?? []).filter((r: { id: string }) => foreign.has(r.id));
        if (leaked.length) failures.push(`${operation.path}: ${leaked.length} of B's items`);
      }
      assert.deepEqual(failures, []);
    });
  });
}
