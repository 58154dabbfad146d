import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { ComputeRejected, type NetworkSpec } from '../../../src/backends/compute-host.ts';
import { archiveLayout, busyboxTree, ociLayout, writeTree } from '../../support/oci.ts';
import { BackendFixture, SKIP_REASON } from './fixture.ts';

describe('runc host: images', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let network: NetworkSpec;
  let work: string;
  let hostNumber = 10;

  before(() => {
    fixture = new BackendFixture();
    network = fixture.network();
    work = mkdtempSync(path.join(os.tmpdir(), 'nimbus-image-archives-'));
  });

  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await fixture?.dispose();
  });

  async function runFrom(imageId: string, line: string): Promise<string> {
    const server = await fixture.server({ network, hostNumber: hostNumber++, imageId });
    await fixture.host.servers.start(server);
    const { output } = await fixture.exec(server.id, line);
    await fixture.host.servers.remove(server.id);
    return output;
  }

  /** Nothing of a refused import may stay: no image directory, nothing in staging. */
  function assertNothingStaged(imageId: string): void {
    assert.equal(existsSync(path.join(fixture.root, 'images', imageId)), false);
    assert.deepEqual(readdirSync(path.join(fixture.root, 'staging')), []);
  }

  it('makes the built-in image once, however often asked', async () => {
    const imageId = randomUUID();
    const [first, second] = await Promise.all([fixture.host.images.ensureBuiltin(imageId), fixture.host.images.ensureBuiltin(imageId)]);
    assert.deepEqual(first, second);
    assert.ok(first.sizeBytes > 500_000);
    const output = await runFrom(imageId, 'grep nimbus /etc/passwd; cat /etc/os-release | head -n 1; ls -ld /tmp | cut -c1-10');
    assert.equal(output, 'nimbus:x:1000:1000:Nimbus user:/home/nimbus:/bin/sh\nNAME="Nimbus BusyBox"\ndrwxrwxrwt\n');
  });

  it('imports a root filesystem tarball (.tar.gz)', async () => {
    const tree = path.join(work, 'plain');
    busyboxTree(tree);
    writeTree(tree, { 'etc/hello': 'from a tarball\n' });
    const archive = path.join(work, 'plain.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: tree }, ['.']);
    const imageId = randomUUID();
    const artifact = await fixture.host.images.importArchive(imageId, archive);
    assert.ok(artifact.sizeBytes > 1_000_000);
    assert.equal(await runFrom(imageId, 'cat /etc/hello; ls /bin'), 'from a tarball\nbusybox\ncat\nls\nsh\n');
  });

  it('imports an OCI image layout: layers in order, whiteouts and opaque directories honoured', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'nimbus-outside-'));
    writeFileSync(path.join(outside, 'victim'), 'must survive');
    const lower = path.join(work, 'layer1');
    busyboxTree(lower);
    writeTree(lower, { 'etc/doomed': 'x', 'etc/kept': 'kept\n', 'opt/dir/old': 'old', 'escape': { link: outside } });
    const upper = path.join(work, 'layer2');
    writeTree(upper, { 'etc/.wh.doomed': '', 'opt/dir/.wh..wh..opq': '', 'opt/dir/new': 'new', 'etc/added': 'added\n', 'escape/.wh.victim': '' });

    const { dir: layout, layerBlobs, archive } = await ociLayout(work, lower, upper, { platform: true });

    const imageId = randomUUID();
    const artifact = await fixture.host.images.importArchive(imageId, archive);
    assert.equal(artifact.arch, 'amd64');
    const output = await runFrom(imageId, 'ls /etc; ls /opt/dir; cat /etc/kept /etc/added');
    assert.equal(output, 'added\nhostname\nhosts\nkept\npasswd\nnew\nkept\nadded\n');
    assert.equal(readFileSync(path.join(outside, 'victim'), 'utf8'), 'must survive', 'a whiteout never reaches out through a link');
    rmSync(outside, { recursive: true, force: true });

    // The same layout with one byte of a layer changed: its size is right, its digest is not.
    const layerFile = layerBlobs[1]!;
    const bytes = readFileSync(layerFile);
    bytes[600] ^= 0xff;
    writeFileSync(layerFile, bytes);
    const tampered = path.join(work, 'tampered-oci.tar');
    await archiveLayout(layout, tampered);
    const refused = randomUUID();
    await assert.rejects(fixture.host.images.importArchive(refused, tampered), (error: Error) => error instanceof ComputeRejected && /digest/.test(error.message));
    assertNothingStaged(refused);
  });

  it('refuses what is not an archive, and an archive reaching outside, leaving nothing', async () => {
    const garbage = path.join(work, 'garbage.tar.gz');
    writeFileSync(garbage, 'this is not a tarball at all'.repeat(100));
    const first = randomUUID();
    await assert.rejects(fixture.host.images.importArchive(first, garbage), ComputeRejected);
    assertNothingStaged(first);

    const header = new tar.Header({ path: '../../escaped', mode: 0o644, size: 4, type: 'File', mtime: new Date() });
    header.encode();
    const evil = path.join(work, 'evil.tar');
    writeFileSync(evil, Buffer.concat([header.block!, Buffer.from('evil'), Buffer.alloc(508), Buffer.alloc(1024)]));
    const second = randomUUID();
    await assert.rejects(fixture.host.images.importArchive(second, evil), ComputeRejected);
    assertNothingStaged(second);
    assert.equal(existsSync(path.join(fixture.root, 'escaped')), false);

    await assert.rejects(fixture.host.images.importArchive(randomUUID(), path.join(work, 'missing.tar')), ComputeRejected);
  });

  it('removes an image (twice is once)', async () => {
    const imageId = randomUUID();
    await fixture.host.images.ensureBuiltin(imageId);
    await fixture.host.images.remove(imageId);
    await fixture.host.images.remove(imageId);
    assert.equal(existsSync(path.join(fixture.root, 'images', imageId)), false);
  });
});

describe('runc host: hostile image archives', { skip: SKIP_REASON ?? false }, () => {
  const MAX_BYTES = 4 * 1024 * 1024;
  const MAX_ENTRIES = 200;
  let fixture: BackendFixture;
  let work: string;
  let secretFile: string;
  const SECRET = 'host-secret-7f3a9c';

  before(() => {
    fixture = new BackendFixture({ imageLimits: { maxBytes: MAX_BYTES, maxEntries: MAX_ENTRIES } });
    work = mkdtempSync(path.join(os.tmpdir(), 'nimbus-hostile-archives-'));
    secretFile = path.join(work, 'host-file');
    writeFileSync(secretFile, `{"manifests": [], "secret": "${SECRET}"}`);
  });

  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await fixture?.dispose();
  });

  /** Imports and expects a refusal that names neither a host path nor a host file's content; nothing may stay. */
  async function assertRefused(archive: string, pattern: RegExp): Promise<void> {
    const imageId = randomUUID();
    await assert.rejects(fixture.host.images.importArchive(imageId, archive), (error: Error) => {
      assert.ok(error instanceof ComputeRejected, String(error));
      assert.match(error.message, pattern);
      for (const leak of [SECRET, fixture.root, work, os.tmpdir()]) assert.ok(!error.message.includes(leak), `${error.message} names ${leak}`);
      return true;
    });
    assert.equal(existsSync(path.join(fixture.root, 'images', imageId)), false);
    assert.deepEqual(readdirSync(path.join(fixture.root, 'staging')), []);
  }

  /** A layout (oci-layout, index.json, blobs) from the tree given, archived as it is (links kept). */
  async function layoutArchive(name: string, tree: Record<string, string | { link: string }>): Promise<string> {
    const dir = path.join(work, name);
    writeTree(dir, { 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', ...tree });
    const archive = path.join(work, `${name}.tar`);
    await tar.c({ file: archive, cwd: dir }, readdirSync(dir));
    return archive;
  }

  it('refuses an OCI layout whose metadata is a symlink, without reading the host file it names', async () => {
    await assertRefused(await layoutArchive('index-link', { 'index.json': { link: secretFile }, blobs: { link: work } }), /index\.json is a symbolic link/);
    // A link to a device or a FIFO would hang or fill memory: refused the same way, at once.
    await assertRefused(await layoutArchive('index-zero', { 'index.json': { link: '/dev/zero' } }), /index\.json is a symbolic link/);
  });

  it('refuses blobs reached through a symlinked directory', async () => {
    const digest = createHash('sha256').update(readFileSync(secretFile)).digest('hex');
    const outside = path.join(work, 'outside-blobs');
    writeTree(outside, { [`sha256/${digest}`]: readFileSync(secretFile, 'utf8') });
    const index = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${digest}` }] });
    await assertRefused(await layoutArchive('blobs-link', { 'index.json': index, blobs: { link: outside } }), /blobs is not a directory|is missing/);
  });

  it('says what is wrong with a bad entry without host paths or parser quotes', async () => {
    const index = await layoutArchive('bad-json', { 'index.json': `{"secret": "${SECRET}" oops` });
    await assertRefused(index, /index\.json is not valid JSON/);
    const header = new tar.Header({ path: 'hardlink', type: 'Link', linkpath: 'etc/absent', mode: 0o644, size: 0, mtime: new Date() });
    header.encode();
    const dangling = path.join(work, 'dangling.tar');
    writeFileSync(dangling, Buffer.concat([header.block!, Buffer.alloc(1024)]));
    await assertRefused(dangling, /"hardlink" could not be extracted/);
  });

  it('stops an archive that unpacks past the byte or file limit, leaving nothing', async () => {
    // A few kilobytes of gzip that would unpack to 64 MiB of zeros.
    const bomb = path.join(work, 'bomb');
    writeTree(bomb, { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\n' });
    writeFileSync(path.join(bomb, 'zeros'), Buffer.alloc(64 * 1024 * 1024));
    const bombArchive = path.join(work, 'bomb.tar.gz');
    await tar.c({ gzip: true, file: bombArchive, cwd: bomb }, ['.']);
    assert.ok(statSync(bombArchive).size < 200_000);
    await assertRefused(bombArchive, new RegExp(`unpacks to more than ${MAX_BYTES} bytes`));

    const many = path.join(work, 'many');
    writeTree(many, Object.fromEntries(Array.from({ length: MAX_ENTRIES + 5 }, (_, i) => [`f${i}`, ''])));
    const manyArchive = path.join(work, 'many.tar');
    await tar.c({ file: manyArchive, cwd: many }, ['.']);
    await assertRefused(manyArchive, new RegExp(`more than ${MAX_ENTRIES} files`));
  });

  it('counts every layer of an OCI image against one budget', async () => {
    const lower = path.join(work, 'budget-lower');
    const upper = path.join(work, 'budget-upper');
    writeTree(lower, { 'a': 'x'.repeat(3 * 1024 * 1024) });
    writeTree(upper, { 'b': 'y'.repeat(3 * 1024 * 1024) });
    const { archive } = await ociLayout(path.join(work, 'budget'), lower, upper);
    await assertRefused(archive, /unpacks to more than/);
  });

  it('stops at the bytes an organization has left when that is less', async () => {
    const tree = path.join(work, 'small');
    busyboxTree(tree);
    const archive = path.join(work, 'small.tar');
    await tar.c({ file: archive, cwd: tree }, ['.']);
    const imageId = randomUUID();
    await assert.rejects(fixture.host.images.importArchive(imageId, archive, { maxBytes: 1000 }), /more than 1000 bytes, what is left of its organization's image quota/);
    assert.deepEqual(readdirSync(path.join(fixture.root, 'staging')), []);
    assert.ok((await fixture.host.images.importArchive(imageId, archive)).sizeBytes > 1000);
  });
});
