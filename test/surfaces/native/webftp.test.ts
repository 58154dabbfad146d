import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID as randomUUIDv4 } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { eventually } from '../../support/eventually.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../support/identity.ts';
import { mismatches, nullable, type GoObject } from './alpacon/cli-types.ts';
import { ServerSummary, UserSummary } from './alpacon/cli-types.ts';
import { readZip } from '../../support/zip.ts';

const SERVERS = '/api/servers/servers/';
const UPLOADS = '/api/webftp/uploads/';
const DOWNLOADS = '/api/webftp/downloads/';
const LIMIT = 4 * 1024 * 1024;

// api/ftp/types.go
const UploadResponse: GoObject = { id: 'string', name: 'string', path: 'string', size: 'int', server: ServerSummary, user: 'string', username: 'string', groupname: 'string', expires_at: 'string', upload_url: 'string', command: 'string' };
const DownloadResponse: GoObject = { ...UploadResponse, download_url: 'string' };
const TransferStatusResponse: GoObject = { success: { nullable: 'bool' }, message: 'string' };
const BulkDownloadResponse: GoObject = { ...DownloadResponse, path: ['string'] };
// api/webftp/types.go, in a cursor list (api/types.go)
const WebFTPLogEntry: GoObject = { added_at: 'time', file_name: 'string', action: 'string', size: 'int', success: 'bool', user: nullable(UserSummary), server: nullable(ServerSummary), remote_ip: 'string', message: 'string' };
const CursorList: GoObject = { next: nullable('string'), results: [WebFTPLogEntry] };

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
    const commandDone = (id: string) =>
      eventually('the check command', async () => {
        const res = await call('GET', `/api/events/commands/${id}/`);
        return res.body.success === null ? undefined : res.body;
      });
    const transferDone = (collection: string, id: string) =>
      eventually('the transfer to be recorded', async () => {
        const res = await call('GET', `${collection}${id}/status/`);
        return res.body.success === null ? undefined : res.body;
      });
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
    });

    it('uploads several files at once (bulk), as the CLI does: a URL each, then one trigger', async () => {
      const contents = [randomBytes(1000), randomBytes(70_000)];
      const created = await call('POST', `${UPLOADS}bulk/`, { names: ['one.bin', 'two.bin'], path: '/home/nimbus/many/', server, username: 'nimbus', groupname: '', allow_overwrite: false, allow_unzip: false });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(mismatches(created.body, [UploadResponse]), []);
      assert.deepEqual(created.body.map((u: { name: string }) => u.name), ['one.bin', 'two.bin']);
      await exec('mkdir -p /home/nimbus/many && chown nimbus /home/nimbus/many');
      for (const [i, upload] of created.body.entries()) assert.equal((await fetch(upload.upload_url, { method: 'PUT', body: new Uint8Array(contents[i]!) })).status, 200);
      const triggered = await call('POST', `${UPLOADS}bulk-upload/`, { ids: created.body.map((u: { id: string }) => u.id) });
      assert.equal(triggered.status, 200, JSON.stringify(triggered.body));
      for (const upload of created.body) assert.equal((await transferDone(UPLOADS, upload.id)).success, true);
      assert.equal((await exec(`sha256sum /home/nimbus/many/one.bin /home/nimbus/many/two.bin | cut -d' ' -f1`)).result, `${sha(contents[0]!)}\n${sha(contents[1]!)}\n`);
      assert.equal((await call('POST', `${UPLOADS}bulk/`, { names: ['ok', '../bad'], path: '/tmp/', server })).status, 400);
      assert.equal((await call('POST', `${UPLOADS}bulk/`, { names: [], path: '/tmp/', server })).status, 400);
      assert.equal((await call('POST', `${UPLOADS}bulk-upload/`, { ids: [randomUUIDv4()] })).status, 404);
    });

    it('downloads a folder as a zip, read inside the server: links are not followed, nothing of the host comes out', async () => {
      await exec('mkdir -p /tmp/tree/sub && printf A > /tmp/tree/a && printf B > /tmp/tree/sub/b && ln -sf / /tmp/tree/root-link && ln -sf /etc/passwd /tmp/tree/passwd-link');
      const download = await call('POST', DOWNLOADS, { path: '/tmp/../tmp/tree', name: 'tree', server, username: '', groupname: '', resource_type: 'folder' });
      assert.equal(download.status, 201, JSON.stringify(download.body));
      assert.deepEqual(mismatches(download.body, DownloadResponse), []);
      assert.equal((await commandDone(download.body.command)).status, 'success');
      const got = await fetch(download.body.download_url);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-type'), 'application/zip');
      const entries = readZip(Buffer.from(await got.arrayBuffer()));
      assert.deepEqual(entries.map((e) => e.name).sort(), ['tree/', 'tree/a', 'tree/sub/', 'tree/sub/b']);
      assert.equal(entries.find((e) => e.name === 'tree/a')!.data.toString(), 'A');
      assert.equal((await transferDone(DOWNLOADS, download.body.id)).success, true);

      const notFolder = await call('POST', DOWNLOADS, { path: '/tmp/tree/a', server, resource_type: 'folder' });
      assert.equal((await commandDone(notFolder.body.command)).status, 'failed');
      assert.equal((await call('POST', DOWNLOADS, { path: '/', server, resource_type: 'folder' })).status, 400);
      assert.equal((await call('POST', DOWNLOADS, { path: '/tmp', server, resource_type: 'disk' })).status, 400);
    });

    it('downloads several paths as one zip (bulk), and refuses the whole when one cannot be read', async () => {
      const download = await call('POST', `${DOWNLOADS}bulk/`, { path: ['/tmp/tree/a', '/tmp/tree/sub'], server, username: '', groupname: '' });
      assert.equal(download.status, 201, JSON.stringify(download.body));
      assert.deepEqual(mismatches(download.body, BulkDownloadResponse), []);
      assert.equal((await commandDone(download.body.command)).status, 'success');
      const entries = readZip(Buffer.from(await (await fetch(download.body.download_url)).arrayBuffer()));
      assert.deepEqual(entries.map((e) => e.name).sort(), ['a', 'sub/', 'sub/b']);
      assert.match((await transferDone(DOWNLOADS, download.body.id)).message, /from 2 paths, as a zip/);

      const missing = await call('POST', `${DOWNLOADS}bulk/`, { path: ['/tmp/tree/a', '/nope'], server });
      const check = await commandDone(missing.body.command);
      assert.equal(check.status, 'failed');
      assert.match(check.result, /\/nope is not readable/);
      assert.equal((await call('POST', `${DOWNLOADS}bulk/`, { path: ['/tmp/a', 'relative'], server })).status, 400);
    });

    it('cuts a folder over the cap short and records why', async () => {
      await exec(`mkdir -p /tmp/big && head -c ${LIMIT + 1024} /dev/zero > /tmp/big/zeros`);
      const download = await call('POST', DOWNLOADS, { path: '/tmp/big', server, resource_type: 'folder' });
      await commandDone(download.body.command);
      const got = await fetch(download.body.download_url);
      await assert.rejects(got.arrayBuffer());
      const done = await transferDone(DOWNLOADS, download.body.id);
      assert.equal(done.success, false);
      assert.match(done.message, /larger than the limit of 4194304 bytes/);
    });

    it('lists every transfer in the webftp log, as the CLI reads it, by cursor, filtered', async () => {
      const log = await call('GET', '/api/history/webftp-logs/?page_size=100');
      assert.equal(log.status, 200, JSON.stringify(log.body));
      assert.deepEqual(mismatches(log.body, CursorList), []);
      const entry = log.body.results.find((e: { file_name: string; action: string }) => e.file_name === 'blob.bin' && e.action === 'upload');
      assert.equal(entry.success, true);
      assert.equal(entry.size, 3 * 1024 * 1024);
      assert.equal(entry.user.name, 'admin');
      assert.equal(entry.server.name, 'files');
      assert.equal(entry.remote_ip, '127.0.0.1');
      assert.ok(log.body.results.some((e: { file_name: string; action: string }) => e.file_name === 'tree.zip' && e.action === 'download'));
      const uploads = await call('GET', '/api/history/webftp-logs/?action=upload&page_size=100');
      assert.ok(uploads.body.results.length > 0 && uploads.body.results.every((e: { action: string }) => e.action === 'upload'));
      const page = await call('GET', '/api/history/webftp-logs/?page_size=2');
      assert.equal(page.body.results.length, 2);
      const next = await call('GET', `/api/history/webftp-logs/?page_size=2&cursor=${encodeURIComponent(new URL(page.body.next, base).searchParams.get('cursor') ?? page.body.next)}`);
      assert.equal(next.status, 200);
      assert.notEqual(next.body.results[0].id, page.body.results[0].id);
      assert.equal((await call('GET', '/api/history/webftp-logs/?action=delete')).status, 400);
      assert.equal((await call('GET', `/api/history/webftp-logs/?server=${server}`, undefined, bob.session)).body.results.length, 0);
      assert.equal((await call('GET', '/api/history/webftp-logs/', undefined, bob.session)).body.results.length, 0);
    });

    it("another organization's server and transfers are a 404; a token that cannot run commands cannot transfer", async () => {
      const { created } = await upload(Buffer.from('mine'), { name: 'mine' });
      assert.equal((await call('POST', UPLOADS, { server, name: 'x', path: '/tmp/' }, bob.session)).status, 404);
      assert.equal((await call('POST', DOWNLOADS, { server, path: '/tmp/mine' }, bob.session)).status, 404);
      assert.equal((await call('GET', `${UPLOADS}${created.id}/status/`, undefined, bob.session)).status, 404);
      assert.equal((await call('GET', `${UPLOADS}${created.id}/`, undefined, bob.session)).status, 404);
      assert.equal((await call('POST', `${UPLOADS}bulk/`, { server, names: ['x'], path: '/tmp/' }, bob.session)).status, 404);
      assert.equal((await call('POST', `${UPLOADS}bulk-upload/`, { ids: [created.id] }, bob.session)).status, 404);
      assert.equal((await call('POST', `${DOWNLOADS}bulk/`, { server, path: ['/tmp/mine'] }, bob.session)).status, 404);
      assert.equal((await call('POST', DOWNLOADS, { server, path: '/tmp', resource_type: 'folder' }, bob.session)).status, 404);
      const reader = await addToken(app, app.token, ['server:read', 'command:read']);
      assert.equal((await call('POST', UPLOADS, { server, name: 'x', path: '/tmp/' }, reader.key)).status, 403);
      assert.equal((await call('POST', `${UPLOADS}bulk/`, { server, names: ['x'], path: '/tmp/' }, reader.key)).status, 403);
      assert.equal((await call('POST', `${DOWNLOADS}bulk/`, { server, path: ['/tmp/mine'] }, reader.key)).status, 403);
      assert.equal((await call('GET', '/api/history/webftp-logs/', undefined, reader.key)).status, 200);
      const serversOnly = await addToken(app, app.token, ['server:read']);
      assert.equal((await call('GET', '/api/history/webftp-logs/', undefined, serversOnly.key)).status, 403);
    });
  });
}
