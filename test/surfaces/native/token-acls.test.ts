import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addToken, addUser, bearer, type TestUser } from '../../support/identity.ts';
import { CommandAclResponse, FileAclResponse, ListResponse, mismatches, ServerAclResponse, TokenScopesResponse } from './alpacon/cli-types.ts';

const SERVERS = '/api/servers/servers/';
const COMMANDS = '/api/events/commands/';
const TOKENS = '/api/auth/tokens/';
const ACL = (kind: string) => `/api/security/${kind}-acl/`;

for (const database of testDatabases) {
  describe(`token ACLs [${database.name}]`, { skip: computeSkipReason() ?? false, timeout: 300_000 }, () => {
    let app: TestApp;
    let server: string;
    let other: string; // a second server of the same organization, never granted
    let bob: TestUser; // admin of a sibling organization

    const call = async (method: string, url: string, payload?: object, token?: string | null, headers: Record<string, string> = {}) => {
      const res = await app.request({ method: method as 'GET', url, payload, token, headers });
      return { status: res.statusCode, body: res.body ? res.json() : null };
    };
    const commandCount = async () => (await call('GET', COMMANDS)).body.count;
    const finished = (id: string) =>
      eventually(`command ${id}`, async () => {
        const body = (await call('GET', `${COMMANDS}${id}/`)).body;
        return body.success === null ? undefined : body;
      }, 60_000);
    /** A token of the admin's, with ACL rules added by the admin's login session. */
    const boundToken = async (rules: { command?: object[]; server?: string[]; file?: object[] }) => {
      const token = await addToken(app, app.token);
      for (const rule of rules.command ?? []) assert.equal((await call('POST', ACL('command'), { token: token.id, ...rule }, session)).status, 201);
      for (const id of rules.server ?? []) assert.equal((await call('POST', ACL('server'), { token: token.id, server: id }, session)).status, 201);
      for (const rule of rules.file ?? []) assert.equal((await call('POST', ACL('file'), { token: token.id, ...rule }, session)).status, 201);
      return token;
    };
    let session: string;

    before(async () => {
      app = await startComputeTestApp(database);
      const created = await call('POST', SERVERS, { name: 'guarded', start: true });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      server = created.body.id;
      other = (await call('POST', SERVERS, { name: 'ungranted' })).body.id;
      await eventually('the server to run', async () => ((await call('GET', `${SERVERS}${server}/`)).body.state === 'running' ? true : undefined), 120_000);
      session = (await call('POST', '/api/auth/login/', { username: 'admin', password: app.adminPassword }, null)).body.token;
      bob = await addUser(app, 'acl-bob', { role: 'admin', organization: await addOrganization(app, 'ACLs elsewhere') });
    });
    after(async () => {
      await app?.close();
    });

    it('lists the ACL kinds of each scope resource', async () => {
      const scopes = (await call('GET', `${TOKENS}scopes/`)).body;
      assert.deepEqual(mismatches(scopes, TokenScopesResponse), []);
      const acl = (name: string) => scopes.resources.find((r: { name: string }) => r.name === name).acl;
      assert.deepEqual(acl('command'), ['command', 'server']);
      assert.deepEqual(acl('webftp'), ['file', 'server']);
      assert.deepEqual(acl('server'), ['server']);
      assert.deepEqual(acl('user'), []);
    });

    it('rules are created, listed by token, read and deleted in the shapes the CLI decodes', async () => {
      const token = await addToken(app, app.token);
      const command = await call('POST', ACL('command'), { token: token.id, command: 'docker *', username: 'root' }, session);
      assert.equal(command.status, 201, JSON.stringify(command.body));
      assert.deepEqual(mismatches(command.body, CommandAclResponse), []);
      const serverRule = await call('POST', ACL('server'), { token: token.id, server }, session);
      assert.deepEqual(mismatches(serverRule.body, ServerAclResponse), []);
      assert.equal(serverRule.body.server.name, 'guarded');
      const file = await call('POST', ACL('file'), { token: token.id, path: '/srv/*', action: 'upload' }, session);
      assert.deepEqual(mismatches(file.body, FileAclResponse), []);
      for (const [kind, type] of [['command', CommandAclResponse], ['server', ServerAclResponse], ['file', FileAclResponse]] as const) {
        const list = await call('GET', `${ACL(kind)}?token=${token.id}&page=1&page_size=100`, undefined, session);
        assert.deepEqual(mismatches(list.body, ListResponse(type)), []);
        assert.equal(list.body.count, 1);
        assert.equal(list.body.results[0].token_name, `t-*`);
      }
      assert.equal((await call('GET', `${ACL('command')}${command.body.id}/`, undefined, session)).body.command, 'docker *');
      assert.equal((await call('DELETE', `${ACL('command')}${command.body.id}/`, undefined, session)).status, 204);
      assert.equal((await call('GET', `${ACL('command')}?token=${token.id}`, undefined, session)).body.count, 0);
    });

    it('a token without rules keeps its reach; from its first rule, each kind is deny-by-default', async () => {
      const token = await addToken(app, app.token);
      const [free] = (await call('POST', COMMANDS, { server, line: 'true' }, token.key)).body;
      assert.ok(free.id);
      assert.equal((await call('POST', ACL('server'), { token: token.id, server }, session)).status, 201);
      const before = await commandCount();
      const refused = await call('POST', COMMANDS, { server, line: 'true' }, token.key);
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'api_token_acl_not_allowed');
      assert.equal(await commandCount(), before, 'nothing was queued');
      const rules = (await call('GET', `${ACL('server')}?token=${token.id}`, undefined, session)).body.results;
      assert.equal((await call('DELETE', `${ACL('server')}${rules[0].id}/`, undefined, session)).status, 204);
      assert.equal((await call('POST', COMMANDS, { server, line: 'true' }, token.key)).status, 403, 'removing every rule does not unbind it');
    });

    it('commands: refused before reaching the server unless the server and a command rule allow them', async () => {
      const token = await boundToken({ command: [{ command: 'echo *', username: '*' }], server: [server] });
      const [ran] = (await call('POST', COMMANDS, { server, line: 'echo allowed' }, token.key)).body;
      assert.equal((await finished(ran.id)).result, 'allowed\n');
      const before = await commandCount();
      for (const line of ['whoami', 'echo a; id', 'echo $(id)', 'echo a && id', 'echo a | sh', 'echo a\nid']) {
        const res = await call('POST', COMMANDS, { server, line }, token.key);
        assert.equal(res.status, 403, `${line}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, 'api_token_acl_not_allowed', `${line}: ${JSON.stringify(res.body)}`);
      }
      const elsewhere = await call('POST', COMMANDS, { server: other, line: 'echo x' }, token.key);
      assert.equal(elsewhere.status, 403, 'a server without a rule');
      assert.equal(await commandCount(), before, 'no refused command was queued');
    });

    it("command rules match the server account: '' is the token owner's own name, '*' anyone, else one name", async () => {
      const own = await boundToken({ command: [{ command: 'id -un', username: '' }], server: [server] });
      assert.equal((await call('POST', COMMANDS, { server, line: 'id -un', username: 'root' }, own.key)).status, 403);
      const ownName = await call('POST', COMMANDS, { server, line: 'id -un', username: 'admin' }, own.key);
      assert.notEqual(ownName.status, 403, JSON.stringify(ownName.body));
      const rootOnly = await boundToken({ command: [{ command: 'id -un', username: 'root', groupname: 'root' }], server: [server] });
      assert.equal((await call('POST', COMMANDS, { server, line: 'id -un', username: 'nimbus' }, rootOnly.key)).status, 403);
      assert.equal((await call('POST', COMMANDS, { server, line: 'id -un', username: 'root', groupname: 'nimbus' }, rootOnly.key)).status, 403);
      const [asRoot] = (await call('POST', COMMANDS, { server, line: 'id -un', username: 'root', groupname: 'root' }, rootOnly.key)).body;
      assert.equal((await finished(asRoot.id)).result, 'root\n');
    });

    it('a bearer exchanged from a bound token is bound too', async () => {
      const token = await boundToken({ command: [{ command: 'echo *', username: '*' }], server: [server] });
      const jwt = (await call('POST', `${TOKENS}exchange/`, undefined, token.key)).body.token;
      const refused = await call('POST', COMMANDS, { server, line: 'id' }, null, bearer(jwt));
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal((await call('POST', COMMANDS, { server, line: 'echo ok' }, null, bearer(jwt))).status, 201);
    });

    it("web shell: needs the server and a command rule of '*' for the account", async () => {
      const open = (token: string, username = 'root') => call('POST', '/api/websh/sessions/', { server, rows: 24, cols: 80, username, groupname: '' }, token);
      const narrow = await boundToken({ command: [{ command: 'echo *', username: '*' }], server: [server] });
      assert.equal((await open(narrow.key)).status, 403);
      const noServer = await boundToken({ command: [{ command: '*', username: '*' }] });
      assert.equal((await open(noServer.key)).status, 403);
      const shell = await boundToken({ command: [{ command: '*', username: 'root' }], server: [server] });
      assert.equal((await open(shell.key, 'nimbus')).status, 403);
      const opened = await open(shell.key);
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      assert.equal((await call('POST', `/api/websh/sessions/${opened.body.id}/close/`, {}, shell.key)).status < 300, true);
    });

    it('file transfer: the server and a file rule must allow the normalized path and the direction', async () => {
      const token = await boundToken({ server: [server], file: [{ path: '/tmp/*', action: 'upload', username: '*' }, { path: '/etc/hostname', action: 'download', username: '*' }] });
      const up = (path: string) => call('POST', '/api/webftp/uploads/', { server, name: 'f', path, username: '', groupname: '' }, token.key);
      const down = (path: string) => call('POST', '/api/webftp/downloads/', { server, path, name: 'f', username: '', groupname: '' }, token.key);
      assert.equal((await up('/tmp/')).status, 201);
      for (const path of ['/etc/', '/tmp/../etc/']) assert.equal((await up(path)).status, 403, path);
      const download = await down('/etc/hostname');
      assert.equal(download.status, 201, JSON.stringify(download.body));
      assert.equal((await finished(download.body.command)).success, true, 'the transfer check is no command the ACL must allow');
      assert.equal((await down('/tmp/anything')).status, 403, 'upload rules do not allow downloads');
    });

    it('a bound token may not change rules, mint unbound credentials, nor escape its ACL through a new token or a duplicate', async () => {
      const bound = await boundToken({ command: [{ command: 'echo *', username: '*' }], server: [server] });
      const add = await call('POST', ACL('command'), { token: bound.id, command: '*', username: '*' }, bound.key);
      assert.equal(add.status, 403, JSON.stringify(add.body));
      assert.equal(add.body.code, 'api_token_acl_not_allowed');
      const rule = (await call('GET', `${ACL('command')}?token=${bound.id}`, undefined, session)).body.results[0];
      assert.equal((await call('DELETE', `${ACL('command')}${rule.id}/`, undefined, bound.key)).status, 403);
      assert.equal((await call('POST', '/api/auth/credentials/', {}, bound.key)).status, 403);
      const made = (await call('POST', TOKENS, { name: 'child' }, bound.key)).body;
      assert.equal((await call('POST', COMMANDS, { server, line: 'id' }, made.key)).status, 403, 'a token it makes inherits its ACL');
      assert.equal((await call('POST', COMMANDS, { server, line: 'echo child' }, made.key)).status, 201);
      const wide = await addToken(app, app.token);
      const copy = (await call('POST', `${TOKENS}${wide.id}/duplicate/`, {}, bound.key)).body;
      assert.equal((await call('POST', COMMANDS, { server, line: 'id' }, copy.key)).status, 403, 'a duplicate it makes carries its ACL');
      const ownCopy = (await call('POST', `${TOKENS}${bound.id}/duplicate/`, {}, session)).body;
      assert.equal((await call('GET', `${ACL('command')}?token=${ownCopy.id}`, undefined, session)).body.count, 1, "a duplicate carries the original's rules");
      assert.equal((await call('POST', COMMANDS, { server, line: 'id' }, ownCopy.key)).status, 403);
    });

    it('bulk server rules: added once, removed together; an unknown server changes nothing', async () => {
      const token = await addToken(app, app.token);
      const added = await call('POST', `${ACL('server')}bulk/`, { token: token.id, servers: [server, other, server] }, session);
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.equal(added.body.results.length, 2);
      assert.equal((await call('POST', `${ACL('server')}bulk/`, { token: token.id, servers: [server] }, session)).body.results.length, 0);
      const unknown = await call('POST', `${ACL('server')}bulk/`, { token: token.id, servers: [other, '0b7e3a52-8d8a-4c1e-9a7e-2f1d6c9b0a11'] }, session);
      assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
      assert.equal((await call('POST', `${ACL('server')}bulk/`, { token: token.id, servers: [server] }, bob.session)).status, 404, "another user's token");
      const removed = await call('POST', `${ACL('server')}bulk/delete/`, { token: token.id, servers: [server, other] }, session);
      assert.deepEqual(removed.body, { deleted: 2 });
    });

    it('bad input is a field error that changes nothing', async () => {
      const token = await addToken(app, app.token);
      const cases: [string, object, string][] = [
        ['command', { token: token.id, command: ' ' }, 'command'],
        ['command', { token: token.id, command: 'ls', username: 'not a name' }, 'username'],
        ['file', { token: token.id, path: 'relative/*', action: 'upload' }, 'path'],
        ['file', { token: token.id, path: '/x', action: 'delete' }, 'action'],
        ['server', { token: token.id, server: 'nope' }, 'server'],
        ['command', { token: 'not-a-token', command: 'ls' }, 'token'],
      ];
      for (const [kind, payload, field] of cases) {
        const res = await call('POST', ACL(kind), payload, session);
        if (field === 'token' || field === 'server') assert.ok(res.status === 404 || res.status === 400, JSON.stringify(res.body));
        else assert.deepEqual([res.status, Object.keys(res.body)], [400, [field]], JSON.stringify(res.body));
      }
      for (const kind of ['command', 'server', 'file']) assert.equal((await call('GET', `${ACL(kind)}?token=${token.id}`, undefined, session)).body.count, 0);
      assert.equal((await call('GET', `${ACL('file')}?token=bad`, undefined, session)).status, 400);
    });

    it("tenancy: another organization's tokens, rules and servers are 404s, and its rules are not listed", async () => {
      const token = await addToken(app, app.token);
      const rule = (await call('POST', ACL('server'), { token: token.id, server }, session)).body;
      assert.equal((await call('POST', ACL('command'), { token: token.id, command: 'ls' }, bob.session)).status, 404);
      assert.equal((await call('GET', `${ACL('server')}${rule.id}/`, undefined, bob.session)).status, 404);
      assert.equal((await call('DELETE', `${ACL('server')}${rule.id}/`, undefined, bob.session)).status, 404);
      assert.equal((await call('GET', ACL('server'), undefined, bob.session)).body.count, 0);
      const bobs = await addToken(app, bob.session);
      assert.equal((await call('POST', ACL('server'), { token: bobs.id, server }, bob.session)).status, 404, "bob cannot grant the admin's server");
    });

    it('scopes: reading rules needs token:read, changing them token:write', async () => {
      const reader = await addToken(app, session, ['server:read']);
      assert.equal((await call('GET', ACL('command'), undefined, reader.key)).status, 403);
      const token = await addToken(app, app.token);
      assert.equal((await call('POST', ACL('command'), { token: token.id, command: 'ls' }, reader.key)).status, 403);
      const tokenReader = await addToken(app, session, ['token:read']);
      assert.equal((await call('GET', ACL('command'), undefined, tokenReader.key)).status, 200);
      assert.equal((await call('POST', ACL('command'), { token: token.id, command: 'ls' }, tokenReader.key)).status, 403);
    });
  });
}
