import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../support/identity.ts';
import { mismatches, type GoObject } from './alpacon/cli-types.ts';
import { ServerSummary } from './alpacon/cli-types.ts';

const SERVERS = '/api/servers/servers/';
const UPLOADS = '/api/webftp/uploads/';
const DOWNLOADS = '/api/webftp/downloads/';
const LIMIT = 4 * 1024 * 1024;

// api/ftp/types.go
const UploadResponse: GoObject = { id: 'string', name: 'string', path: 'string', size: 'int', server: ServerSummary, user: 'string', username: 'string', groupname: 'string', expires_at: 'string', upload_url: 'string', command: 'string' };
const DownloadResponse: GoObject = { ...UploadResponse, download_url: 'string' };
const TransferStatusResponse: GoObject = { success: { nullable: 'bool' }, message: 'string' };

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

for (const database of testDatabases) {
  describe(`file transfer [${database.name}]`, { skip: computeSkipReason() ?? false, timeout: 300_000 }, () => {
    let app: TestApp;
    let base: string;
    let server: string;
    let bob: TestUser; // admin of a sibling organization

    const call = async (method: string, url: string, payload?: object, token: string = app.token) => {
      const res = await fetch(`${base}${url}`, { method, headers: { authorization: `token="${token}"`, ...(payload ? { 'content-type': 'application/json' } : {}) }, body: payload ? JSON.stringify(payload) : undefined });
      return { status: res.status, body: await res.json().catch(() => null) };
    };
    const exec = async (line: string) => {
      const [command] = (await call('POST', '/api/events/commands/', { server, line })).body;
      return eventually('the command', async () => {
        const res = await call('GET', `/api/events/commands/${command.id}/`);
        return res.body.success === null ? undefined : res.body;
      });
    };
    /** Alpacon's CLI upload: create, PUT the bytes (no Content-Type), trigger, poll the status. */
    const upload = async (content: Buffer, request: object) => {
      const created = await call('POST', UPLOADS, { server, name: 'file', path: '/tmp/', username: '', groupname: '', allow_overwrite: false, allow_unzip: false, ...request });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(mismatches(created.body, UploadResponse), []);
      const put = await fetch(created.body.upload_url, { method: "PUT", body: new Uint8Array(content) });
      const answer = await put.json();
      return { created: created.body, put: put.status, answer };
    };

    before(async () => {
      app = await startComputeTestApp(database, { limits: { transferLimit: LIMIT } });
      base = (await app.nimbus.listeners.listen('127.0.0.1', 0)).replace('localhost', '127.0.0.1');
      const res = await app.request({ method: 'POST', url: SERVERS, payload: { name: 'files', start: true } });
      assert.equal(res.statusCode, 201, res.body);
      server = res.json().id;
      await eventually('the server to run', async () => ((await app.request({ method: 'GET', url: `${SERVERS}${server}/` })).json().state === 'running' ? true : undefined), 120_000);
      bob = await addUser(app, 'webftp-bob', { role: 'admin', organization: await addOrganization(app, 'Transfers elsewhere') });
    });
    after(async () => {
      await app?.close();
    });

    it('uploads a file into the server and downloads it back, byte for byte, as the CLI does', async () => {
      const content = randomBytes(3 * 1024 * 1024);
      const { created, put, answer } = await upload(content, { name: 'blob.bin', path: '/home/nimbus/', username: 'nimbus' });
      assert.equal(put, 200, JSON.stringify(answer));
      assert.equal((await call('GET', `${UPLOADS}${created.id}/upload/`)).status, 200);
      const status = await call('GET', `${UPLOADS}${created.id}/status/`);
      assert.deepEqual(mismatches(status.body, TransferStatusResponse), []);
      assert.equal(status.body.success, true, status.body.message);
      assert.equal((await exec('stat -c "%U %s" /home/nimbus/blob.bin')).result, `nimbus ${content.length}\n`);

      const download = await call('POST', DOWNLOADS, { path: '/home/nimbus/blob.bin', name: 'blob.bin', server, username: 'nimbus', groupname: '', resource_type: 'file' });
      assert.equal(download.status, 201, JSON.stringify(download.body));
      assert.deepEqual(mismatches(download.body, DownloadResponse), []);
      const check = await eventually('the check command', async () => {
        const res = await call('GET', `/api/events/commands/${download.body.command}/`);
        return res.body.success === null ? undefined : res.body;
      });
      assert.equal(check.status, 'success', check.result);
      const got = await fetch(download.body.download_url);
      assert.equal(got.status, 200);
      assert.equal(sha(Buffer.from(await got.arrayBuffer())), sha(content));
      const done = await eventually('the download to be recorded', async () => {
        const res = await call('GET', `${DOWNLOADS}${download.body.id}/status/`);
        return res.body.success === null ? undefined : res.body;
      });
      assert.equal(done.success, true, done.message);
      assert.equal((await fetch(download.body.download_url)).status, 401, 'a content URL is used once');
    });

    it('refuses a file over the cap with a clear message and leaves nothing in the server', async () => {
      const { created, put, answer } = await upload(randomBytes(LIMIT + 1024), { name: 'too-big' });
      assert.equal(put, 413);
      assert.match(answer.detail, /larger than the limit of 4194304 bytes \(NIMBUS_TRANSFER_LIMIT\)/);
      const status = await call('GET', `${UPLOADS}${created.id}/status/`);
      assert.equal(status.body.success, false);
      assert.match(status.body.message, /larger than the limit/);
      assert.equal((await exec('ls -a /tmp | grep -c too-big || true')).result, '0\n');
    });

    it('refuses what the user may not do and a file that is not there, in words', async () => {
      const { put, answer } = await upload(Buffer.from('x'), { name: 'secret', path: '/root/', username: 'nimbus' });
      assert.equal(put, 400, JSON.stringify(answer));
      assert.match(answer.detail, /denied/i);
      const missing = await call('POST', DOWNLOADS, { path: '/nope', server, resource_type: 'file' });
      const check = await eventually('the check command', async () => {
        const res = await call('GET', `/api/events/commands/${missing.body.command}/`);
        return res.body.success === null ? undefined : res.body;
      });
      assert.equal(check.status, 'failed');
      assert.match(check.result, /\/nope is not a readable file/);
      const got = await fetch(missing.body.download_url);
      assert.equal(got.status, 400);
      assert.equal((await call('POST', UPLOADS, { server, name: '../x', path: '/tmp/' })).status, 400);
      assert.equal((await call('POST', UPLOADS, { server, name: 'x', path: 'relative' })).status, 400);
      assert.equal((await call('POST', DOWNLOADS, { server, path: '/tmp', resource_type: 'folder' })).status, 400);
    });

    it("another organization's server and transfers are a 404; a token that cannot run commands cannot transfer", async () => {
      const { created } = await upload(Buffer.from('mine'), { name: 'mine' });
      assert.equal((await call('POST', UPLOADS, { server, name: 'x', path: '/tmp/' }, bob.session)).status, 404);
      assert.equal((await call('POST', DOWNLOADS, { server, path: '/tmp/mine' }, bob.session)).status, 404);
      assert.equal((await call('GET', `${UPLOADS}${created.id}/status/`, undefined, bob.session)).status, 404);
      assert.equal((await call('GET', `${UPLOADS}${created.id}/`, undefined, bob.session)).status, 404);
      const reader = await addToken(app, app.token, ['server:read', 'command:read']);
      assert.equal((await call('POST', UPLOADS, { server, name: 'x', path: '/tmp/' }, reader.key)).status, 403);
    });
  });
}
