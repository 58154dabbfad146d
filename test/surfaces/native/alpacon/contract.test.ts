import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../../support/compute.ts';
import { testDatabases } from '../../../support/databases.ts';
import { eventually } from '../../../support/eventually.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../../support/identity.ts';
import {
  APITokenResponse,
  AuditLogEntry,
  Chunk,
  CommandResponse,
  CurrentUserResponse,
  CursorListResponse,
  EventDetails,
  ListResponse,
  LoginResponse,
  MemberDetailResponse,
  mismatches,
  NoteResponse,
  RegistrationTokenCreatedResponse,
  RegistrationTokenDetails,
  ServerDetails,
  TokenScopesResponse,
  UserResponse,
  WhoamiResponse,
  type GoType,
} from './cli-types.ts';

const SERVERS = '/api/servers/servers/';
const COMMANDS = '/api/events/commands/';
const TOKENS = '/api/auth/tokens/';

describe('the CLI type descriptions', () => {
  it('report the shapes that broke the CLI: a string for an object, an id for a summary, a missing field', () => {
    assert.deepEqual(mismatches({ code: 'x' }, { code: 'string', text: 'string' }), ['$.text: missing']);
    assert.match(mismatches({ status: 'running' }, { status: { code: 'string' } })[0]!, /\$\.status: expected an object, got string/);
    assert.match(mismatches({ server: 'a540bf0f-8b37-4f03-8546-dd71c6b03329' }, CommandResponse).join('\n'), /\$\.server: expected an object/);
    assert.match(mismatches({ n: 1.5 }, { n: 'int' })[0]!, /expected int/);
    assert.match(mismatches({ s: null }, { s: 'string' })[0]!, /expected string, got null/);
    assert.deepEqual(mismatches({ s: null, t: undefined }, { s: { nullable: 'string' }, t: { optional: 'int' } }), []);
  });
});

for (const database of testDatabases) {
  describe(`Alpacon's CLI types against a real server [${database.name}]`, { skip: computeSkipReason() ?? false }, () => {
    let app: TestApp;
    let server: string;
    let bob: TestUser; // admin of another organization

    const call = (method: 'GET' | 'POST', url: string, payload?: object, token?: string | null) => app.request({ method, url, payload, token });
    /** The body of a successful answer, checked against the CLI's type for it. */
    const decoded = async (type: GoType, method: 'GET' | 'POST', url: string, payload?: object, token?: string | null) => {
      const res = await call(method, url, payload, token);
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
      assert.deepEqual(mismatches(res.json(), type), [], `${method} ${url} does not decode into the CLI's type`);
      return res.json();
    };

    before(async () => {
      app = await startComputeTestApp(database);
      const created = await call('POST', SERVERS, { name: 'alpaca', start: true });
      assert.equal(created.statusCode, 201, created.body);
      server = created.json().id;
      await eventually('server running', async () => ((await call('GET', `${SERVERS}${server}/`)).json().state === 'running' ? true : undefined), 120_000);
      bob = await addUser(app, 'bob', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') });
    });
    after(async () => {
      await app?.close();
    });

    it('login, whoami and the current user', async () => {
      const env = await decoded({ auth0: { method: 'string' } }, 'GET', '/api/auth/env/?client=cli', undefined, null);
      assert.notEqual(env.auth0.method, 'auth0');
      const session = await decoded(LoginResponse, 'POST', '/api/auth/login/', { workspace_url: 'http://localhost', username: 'admin', password: app.adminPassword }, null);
      const whoami = await decoded(WhoamiResponse, 'GET', '/api/auth/whoami/', undefined, session.token);
      assert.equal(whoami.principal_type, 'user');
      assert.deepEqual(whoami.auth.scopes, ['*']);
      await decoded(CurrentUserResponse, 'GET', '/api/iam/users/-/');
    });

    it('servers: the list (and by name), one server, with the status object and the owner', async () => {
      const list = await decoded(ListResponse(ServerDetails), 'GET', `${SERVERS}?name=alpaca&page=1&page_size=100`);
      assert.equal(list.results.length, 1);
      const one = await decoded(ServerDetails, 'GET', `${SERVERS}${server}/`);
      assert.deepEqual({ code: one.status.code, text: one.status.text, connected: one.is_connected }, { code: 'connected', text: 'Connected', connected: true });
      assert.equal(one.owner.name, 'Default');
      assert.equal(one.cpu_logical_cores, 1);
    });

    it('a command: the queued list, the polled details and the chunks', async () => {
      const [queued] = await decoded([CommandResponse], 'POST', COMMANDS, { shell: 'system', line: 'echo alpaca', env: {}, data: '', username: 'root', groupname: 'root', scheduled_at: null, server, run_after: [] });
      assert.equal(queued.server.id, server);
      assert.equal(queued.requested_by.name, 'admin');
      const pending = await decoded(EventDetails, 'GET', `${COMMANDS}${queued.id}/`);
      assert.ok(pending.status !== 'success' || pending.result === 'alpaca\n');
      const done = await eventually('command finished', async () => {
        const details = (await call('GET', `${COMMANDS}${queued.id}/`)).json();
        return details.status === 'success' ? details : undefined;
      }, 60_000);
      assert.deepEqual(mismatches(done, EventDetails), []);
      assert.equal(done.result, 'alpaca\n');
      const chunks = await decoded(ListResponse(Chunk), 'GET', `${COMMANDS}${queued.id}/chunks/?seq__gte=0&ordering=seq&page=1&page_size=100`);
      assert.equal(chunks.results.map((c: { content: string }) => c.content).join(''), 'alpaca\n');
    });

    it('tokens: created with Alpacon scopes, listed scopes, duplicated', async () => {
      const created = await decoded(APITokenResponse, 'POST', TOKENS, { name: 'ci', expires_at: null, scopes: ['server:read', 'command:create'] });
      assert.deepEqual(created.scopes, ['server:read', 'command:create']);
      const scopes = await decoded(TokenScopesResponse, 'GET', `${TOKENS}scopes/`);
      assert.ok(scopes.resources.some((r: { name: string; actions: string[] }) => r.name === 'command' && r.actions.includes('create')));
      const copy = await decoded(APITokenResponse, 'POST', `${TOKENS}${created.id}/duplicate/`, {});
      assert.equal(copy.name, 'ci (copy)');
      assert.deepEqual(copy.scopes, created.scopes);
      assert.notEqual(copy.key, created.key);
    });

    it('users, memberships and the audit log (a cursor list from its first page)', async () => {
      await decoded(ListResponse(UserResponse), 'GET', '/api/iam/users/?page=1&page_size=100');
      const group = (await call('POST', '/api/iam/groups/', { name: 'alpacas', display_name: 'Alpacas' })).json();
      const ivy = await addUser(app, 'ivy');
      assert.equal((await call('POST', '/api/iam/memberships/', { group: group.id, user: ivy.id, role: 'member' })).statusCode, 201);
      const members = await decoded(ListResponse(MemberDetailResponse), 'GET', `/api/iam/memberships/?group=${group.id}&page=1&page_size=100`);
      const member = members.results.find((m: { user: { id: string } }) => m.user.id === ivy.id);
      assert.deepEqual({ name: member.user.name, group: member.group_name }, { name: 'ivy', group: 'alpacas' });
      const audit = await decoded(CursorListResponse(AuditLogEntry), 'GET', '/api/audit/activity/?page_size=100');
      assert.ok(audit.results.some((e: { user: { name: string } | null }) => e.user?.name === 'admin'));
    });

    it("summaries show a user's email only to readers whose subtree holds that user", async () => {
      const elsewhere = (await call('GET', '/api/iam/organizations/?name=Elsewhere')).json().results[0].id;
      assert.equal((await app.request({ method: 'PATCH', url: '/api/iam/users/-/', payload: { email: 'root@example.com' } })).statusCode, 200);
      // The superuser acts in Bob's organization: Bob's audit log names him without his address.
      const token = await call('POST', `${TOKENS}?org_id=${elsewhere}`, { name: 'visiting' });
      assert.equal(token.statusCode, 201, token.body);
      const seenByBob = (await call('GET', '/api/audit/activity/?page_size=100&action=token_created', undefined, bob.session)).json().results;
      const visit = seenByBob.find((e: { target_id: string }) => e.target_id === token.json().id);
      assert.deepEqual(visit.user, { id: visit.user.id, name: 'admin', email: '' });
      const seenByAdmin = (await call('GET', '/api/audit/activity/?page_size=100&action=token_created')).json().results;
      assert.equal(seenByAdmin.find((e: { target_id: string }) => e.target_id === token.json().id).user.email, 'root@example.com');
    });

    it('registration tokens (the key once) and notes, as `alpacon server token` and `alpacon note` decode them', async () => {
      const group = (await call('POST', '/api/iam/groups/', { name: 'enrolled', display_name: 'Enrolled' })).json();
      const expires = new Date(Date.now() + 86_400_000).toISOString();
      const created = await decoded(RegistrationTokenCreatedResponse, 'POST', '/api/servers/registration-tokens/', { name: 'fleet', allowed_groups: [group.id], expires_at: expires });
      assert.match(created.key, /^nbreg_/);
      const found = await decoded(ListResponse(RegistrationTokenDetails), 'GET', '/api/servers/registration-tokens/?search=fleet&page=1&page_size=100');
      assert.deepEqual(found.results.map((t: { name: string; enabled: boolean; key?: string }) => [t.name, t.enabled, t.key]), [['fleet', true, undefined]]);
      const note = await decoded(NoteResponse, 'POST', '/api/servers/notes/', { server, content: 'rack 4', private: false, pinned: false });
      assert.deepEqual([note.server.name, note.author.name], ['alpaca', 'admin']);
      await decoded(ListResponse(NoteResponse), 'GET', `/api/servers/notes/?ordering=-added_at&server=${server}&page=1&page_size=100`);
      // `alpacon note update` sends the edited detail back whole.
      const edited = await app.request({ method: 'PATCH', url: `/api/servers/notes/${note.id}/`, payload: { ...note, content: 'rack 5', pinned: true } });
      assert.equal(edited.statusCode, 200, edited.body);
      assert.deepEqual(mismatches(edited.json(), NoteResponse), []);
      assert.deepEqual([edited.json().content, edited.json().pinned, edited.json().server.id], ['rack 5', true, server]);
    });

    it("another organization's server and commands are a 404", async () => {
      assert.equal((await call('GET', `${SERVERS}${server}/`, undefined, bob.session)).statusCode, 404);
      assert.equal((await call('GET', `${SERVERS}?name=alpaca`, undefined, bob.session)).json().count, 0);
      const [queued] = (await call('POST', COMMANDS, { line: 'true', server })).json();
      assert.equal((await call('GET', `${COMMANDS}${queued.id}/`, undefined, bob.session)).statusCode, 404);
      const foreign = await call('POST', COMMANDS, { line: 'true', server }, bob.session);
      assert.equal(foreign.statusCode, 404, foreign.body);
    });
  });
}

for (const database of testDatabases) {
  describe(`Alpacon's scopes and token duplicates [${database.name}]`, () => {
    let app: TestApp;
    let bob: TestUser;

    before(async () => {
      app = await startTestApp(database);
      bob = await addUser(app, 'bob', { role: 'admin', organization: await addOrganization(app, 'Elsewhere') });
    });
    after(async () => {
      await app?.close();
    });

    it('a token with server:read and command:create reads servers and commands, and nothing else', async () => {
      const { key } = await addToken(app, app.token, ['server:read', 'command:create']);
      assert.equal((await app.request({ method: 'GET', url: SERVERS, token: key })).statusCode, 200);
      assert.equal((await app.request({ method: 'GET', url: COMMANDS, token: key })).statusCode, 200);
      const users = await app.request({ method: 'GET', url: '/api/iam/users/', token: key });
      assert.equal(users.statusCode, 403);
      const server = await app.request({ method: 'POST', url: SERVERS, token: key, payload: { name: 'nope' } });
      assert.equal(server.statusCode, 403);
      assert.deepEqual((await app.request({ method: 'GET', url: '/api/auth/whoami/', token: key })).json().auth.scopes, ['server:read', 'command:create']);
    });

    it('refuses scopes that are neither Nimbus nor Alpacon vocabulary, and changes nothing', async () => {
      const before = (await app.request({ method: 'GET', url: TOKENS })).json().count;
      const res = await app.request({ method: 'POST', url: TOKENS, payload: { name: 'bad', scopes: ['server:launch', 'websh:create', 'nothing:read'] } });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().scopes.length, 2);
      assert.equal((await app.request({ method: 'GET', url: TOKENS })).json().count, before);
    });

    it('a narrowed token may neither create nor duplicate a wider token', async () => {
      const { key } = await addToken(app, app.token, ['token:create', 'server:read']);
      const wide = await app.request({ method: 'POST', url: TOKENS, token: key, payload: { name: 'wide', scopes: ['*'] } });
      assert.equal(wide.statusCode, 403, wide.body);
      const everything = (await app.request({ method: 'POST', url: TOKENS, payload: { name: 'everything' } })).json();
      const copy = await app.request({ method: 'POST', url: `${TOKENS}${everything.id}/duplicate/`, token: key, payload: {} });
      assert.equal(copy.statusCode, 403, copy.body);
      const own = (await app.request({ method: 'POST', url: TOKENS, token: key, payload: { name: 'reader', scopes: ['server:read'] } })).json();
      const ownCopy = await app.request({ method: 'POST', url: `${TOKENS}${own.id}/duplicate/`, token: key, payload: { name: 'reader 2' } });
      assert.equal(ownCopy.statusCode, 201, ownCopy.body);
      assert.deepEqual(ownCopy.json().scopes, ['server:read']);
    });

    it("another user's token is a 404 to duplicate, and a token without token scopes may not duplicate", async () => {
      const mine = (await app.request({ method: 'POST', url: TOKENS, payload: { name: 'mine' } })).json();
      const theirs = await app.request({ method: 'POST', url: `${TOKENS}${mine.id}/duplicate/`, token: bob.session, payload: {} });
      assert.equal(theirs.statusCode, 404, theirs.body);
      const { key } = await addToken(app, app.token, ['server:read']);
      const refused = await app.request({ method: 'POST', url: `${TOKENS}${mine.id}/duplicate/`, token: key, payload: {} });
      assert.equal(refused.statusCode, 403, refused.body);
    });

  });
}
