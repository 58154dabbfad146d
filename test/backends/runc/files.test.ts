import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { ComputeRejected, type ServerSpec } from '../../../src/backends/compute-host.ts';
import { BackendFixture, SKIP_REASON } from './fixture.ts';

describe('runc host: files in and out of a server', { skip: SKIP_REASON ?? false, timeout: 180_000 }, () => {
  let fixture: BackendFixture;
  let server: ServerSpec;
  const write = (path: string, content: Buffer | string, options: { name?: string; overwrite?: boolean; username?: string; maxBytes?: number } = {}) =>
    fixture.host.servers.writeFile(server.id, { path, name: options.name ?? 'file', overwrite: options.overwrite ?? false, username: options.username, source: Readable.from([Buffer.from(content)]), maxBytes: options.maxBytes ?? 1 << 30, transferId: randomUUID() });
  const read = async (path: string, options: { username?: string; maxBytes?: number } = {}) => text(await fixture.host.servers.readFile(server.id, { path, username: options.username, maxBytes: options.maxBytes ?? 1 << 30 }));

  before(async () => {
    fixture = new BackendFixture();
    server = await fixture.server({ network: fixture.network(), hostNumber: 10 });
    await fixture.host.servers.start(server);
  });
  after(async () => {
    await fixture?.dispose();
  });

  it('writes a file into a directory or at a path, as the user, and reads it back', async () => {
    const content = randomBytes(300_000);
    assert.deepEqual(await write('/tmp/', content, { name: 'blob' }), { path: '/tmp/blob', bytes: content.length });
    assert.equal((await write('/tmp', 'x', { name: 'in-dir' })).path, '/tmp/in-dir');
    assert.equal((await write('/home/nimbus/notes.txt', 'hello', { username: 'nimbus' })).path, '/home/nimbus/notes.txt');
    assert.equal((await fixture.exec(server.id, 'stat -c %U /home/nimbus/notes.txt')).output, 'nimbus\n');
    const back = await fixture.host.servers.readFile(server.id, { path: '/tmp/blob', maxBytes: 1 << 30 });
    const chunks: Buffer[] = [];
    for await (const chunk of back) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(content));
    assert.equal(await read('/home/nimbus/notes.txt', { username: 'nimbus' }), 'hello');
  });

  it('refuses what the user may not do, an existing file unless told, a directory, a missing file', async () => {
    await assert.rejects(write('/root/secret', 'x', { username: 'nimbus' }), (error: Error) => error instanceof ComputeRejected && /denied/i.test(error.message));
    await assert.rejects(write('/tmp/blob', 'x'), /already exists/);
    assert.equal((await write('/tmp/blob', 'new', { overwrite: true })).bytes, 3);
    await assert.rejects(read('/tmp'), /is a directory/);
    await assert.rejects(read('/nope'), /is not a file/);
    await assert.rejects(read('/tmp/blob', { username: 'nimbus' }).then(() => fixture.exec(server.id, 'chmod 600 /tmp/blob')).then(() => read('/tmp/blob', { username: 'nimbus' })), /denied/i);
  });

  it('stops a write over the limit and leaves nothing of it', async () => {
    await assert.rejects(write('/tmp/', randomBytes(200_000), { name: 'too-big', maxBytes: 100_000 }), /larger than the limit/);
    assert.equal((await fixture.exec(server.id, 'ls -a /tmp | grep -c too-big || true')).output.trim(), '0');
    await assert.rejects(read('/tmp/blob', { maxBytes: 1 }).catch(() => read('/bin/busybox', { maxBytes: 1000 })), /larger than the limit/);
  });

  it('follows symlinks inside the server only: a link to / is the server\'s root, never the host\'s', async () => {
    await fixture.exec(server.id, 'ln -s / /tmp/root-link && ln -s ../../../../../../etc/hostname /tmp/up-link');
    assert.equal((await write('/tmp/root-link/etc/planted', 'inside')).path, '/tmp/root-link/etc/planted');
    assert.equal((await fixture.exec(server.id, 'cat /etc/planted')).output, 'inside');
    assert.equal(await read('/tmp/up-link'), (await fixture.exec(server.id, 'cat /etc/hostname')).output);
  });
});
