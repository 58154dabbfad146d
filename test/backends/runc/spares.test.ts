import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, openSync, readSync, closeSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NetworkSpec } from '../../../src/backends/compute-host.ts';
import { DEFAULT_SERVER_ID_RANGE, IDS_PER_SERVER } from '../../../src/backends/id-ranges.ts';
import { createRuncHost } from '../../../src/backends/runc/index.ts';
import { eventually } from '../../support/eventually.ts';
import { BackendFixture, MiB, SKIP_REASON } from './fixture.ts';

const SPARES = 2;

/** The superblock's mount count and the bytes its filesystem spans (`struct ext4_super_block`). */
function superblock(file: string): { mounts: number; bytes: number } {
  const buffer = Buffer.alloc(1024);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, 1024, 1024);
  } finally {
    closeSync(fd);
  }
  assert.equal(buffer.readUInt16LE(0x38), 0xef53, `${file} holds ext4`);
  return { mounts: buffer.readUInt16LE(0x34), bytes: buffer.readUInt32LE(0x04) * 1024 * 2 ** buffer.readUInt32LE(0x18) };
}

describe('runc host: spare volumes and image copies', { skip: SKIP_REASON ?? false }, () => {
  let fixture: BackendFixture;
  let network: NetworkSpec;
  const size = 24 * MiB;
  const sparesOf = (kind: 'volumes' | 'images', key: string | number) => path.join(fixture.root, 'spares', kind, String(key));
  /** The complete spares of a key, by inode number. */
  const ready = (kind: 'volumes' | 'images', key: string | number): Map<number, string> => {
    const dir = sparesOf(kind, key);
    const names = existsSync(dir) ? readdirSync(dir).filter((name) => !name.endsWith('.partial')) : [];
    return new Map(names.map((name) => [lstatSync(path.join(dir, name)).ino, name]));
  };
  const refilled = (kind: 'volumes' | 'images', key: string | number) =>
    eventually(`${SPARES} spare ${kind} of ${key}`, async () => (ready(kind, key).size === SPARES ? ready(kind, key) : undefined), 60_000);
  const volumeFile = (volumeId: string) => path.join(fixture.root, 'volumes', `${volumeId}.img`);

  before(() => {
    fixture = new BackendFixture({ spares: SPARES });
    network = fixture.network();
  });

  after(async () => {
    await fixture?.dispose();
  });

  it('hands out a volume formatted ahead at exactly the asked size, never mounted before, and makes another', async () => {
    const first = await fixture.volume(size);
    assert.equal(superblock(volumeFile(first)).bytes, size);
    const spares = await refilled('volumes', size);

    const taken = await fixture.volume(size);
    const file = volumeFile(taken);
    assert.ok(spares.has(statSync(file).ino), 'the volume is one of the spares');
    assert.equal(statSync(file).size, size);
    assert.deepEqual(superblock(file), { mounts: 0, bytes: size });
    assert.ok(!ready('volumes', size).has(statSync(file).ino), 'it left the pool');
    await refilled('volumes', size);

    // Another size is no spare of this one: it is made at its own size.
    const other = await fixture.volume(size + 8 * MiB);
    assert.equal(superblock(volumeFile(other)).bytes, size + 8 * MiB);
    for (const volumeId of [first, taken, other]) await fixture.host.volumes.remove(volumeId);
  });

  it('never hands out a volume a server has used: what a tenant wrote stays with the deleted volume', async () => {
    const server = await fixture.server({ network, hostNumber: 10, rootVolumeId: await fixture.volume(size) });
    await fixture.host.servers.start(server);
    assert.equal((await fixture.exec(server.id, 'echo secret > /root/note && sync')).exitCode, 0);
    await fixture.host.servers.remove(server.id);
    await fixture.host.volumes.remove(server.rootVolumeId);

    const next = await fixture.server({ network, hostNumber: 11, rootVolumeId: await fixture.volume(size) });
    assert.equal(superblock(volumeFile(next.rootVolumeId)).mounts, 0);
    await fixture.host.servers.start(next);
    const look = await fixture.exec(next.id, 'cat /root/note 2>&1; ls -a /root');
    assert.doesNotMatch(look.output, /secret/);
    await fixture.host.servers.remove(next.id);
    await fixture.host.volumes.remove(next.rootVolumeId);
  });

  it('keeps spares for at most 4 sizes, the least recently asked-for dropped', async () => {
    const sizes = [40, 48, 56, 64, 72].map((n) => n * MiB);
    for (const bytes of sizes) await fixture.host.volumes.remove(await fixture.volume(bytes));
    await refilled('volumes', sizes.at(-1)!);
    await eventually('the pool to settle', async () => (readdirSync(path.join(fixture.root, 'spares', 'volumes')).length <= 4 ? true : undefined));
    const kept = readdirSync(path.join(fixture.root, 'spares', 'volumes')).map(Number).sort((a, b) => a - b);
    assert.ok(kept.length <= 4, `sizes kept: ${kept}`);
    assert.ok(!kept.includes(size), 'the least recently asked-for size went');
    for (const bytes of kept) assert.ok(ready('volumes', bytes).size <= SPARES);
  });

  it('gives a server a copy of its image made ahead, owned by its ids, and drops an image\'s spares with the image', async () => {
    const imageId = randomUUID();
    await fixture.host.images.ensureBuiltin(imageId);
    const first = await fixture.server({ network, hostNumber: 12, imageId });
    await fixture.host.servers.start(first);
    const spares = await refilled('images', imageId);

    const second = await fixture.server({ network, hostNumber: 13, imageId });
    await fixture.host.servers.start(second);
    const copy = path.join(fixture.root, 'servers', second.id, 'image');
    assert.ok(spares.has(lstatSync(copy).ino), 'the server\'s image is one of the spares');
    const hostId = DEFAULT_SERVER_ID_RANGE.first + second.idBlock * IDS_PER_SERVER;
    assert.equal(lstatSync(path.join(copy, 'bin', 'busybox')).uid, hostId);
    assert.equal((await fixture.exec(second.id, 'stat -c %u /bin/busybox')).output.trim(), '0');

    await refilled('images', imageId);
    for (const server of [first, second]) {
      await fixture.host.servers.remove(server.id);
      await fixture.host.volumes.remove(server.rootVolumeId);
    }
    await fixture.host.images.remove(imageId);
    assert.equal(existsSync(sparesOf('images', imageId)), false);
  });

  it('after a crash, the next process takes the spares left and drops half-made ones; closing deletes every spare', async () => {
    await fixture.host.volumes.remove(await fixture.volume(size));
    const spares = await refilled('volumes', size);
    const half = path.join(sparesOf('volumes', size), `${randomUUID()}.partial`);
    mkdirSync(path.dirname(half), { recursive: true });
    writeFileSync(half, 'half-made');

    // A process started over the same compute root, as after a crash of this one.
    const restarted = createRuncHost({ root: fixture.root, spares: SPARES });
    try {
      const volumeId = randomUUID();
      await restarted.volumes.create(volumeId, size);
      assert.ok(spares.has(statSync(volumeFile(volumeId)).ino), 'the volume is a spare the crashed process made');
      assert.equal(existsSync(half), false);
      await restarted.volumes.remove(volumeId);
    } finally {
      await restarted.close();
    }
    assert.equal(existsSync(path.join(fixture.root, 'spares', 'volumes')), false);
    await fixture.host.close();
    assert.equal(existsSync(path.join(fixture.root, 'spares')), false);
  });
});
