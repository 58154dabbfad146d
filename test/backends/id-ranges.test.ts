import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync, chownSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ComputeRejected } from '../../src/backends/compute-host.ts';
import { DEFAULT_SERVER_ID_RANGE, IDS_PER_SERVER, idInsideServer, ownedByBlock, parseServerIdRange, serverBlocks, serverHostId, shiftOwnership } from '../../src/backends/id-ranges.ts';

const range = parseServerIdRange('100000000-100327679'); // five blocks

describe('server id ranges', () => {
  it('parses first-last and refuses ranges that overlap unshifted ids or hold no block', () => {
    assert.deepEqual(range, { first: 100_000_000, last: 100_327_679 });
    assert.equal(serverBlocks(range), 5);
    assert.equal(serverBlocks(DEFAULT_SERVER_ID_RANGE), 64_010);
    for (const bad of ['', '100000000', '1000-200000', '100000000-100000001', '100000000-4294967295', 'a-b', '200000000-100000000']) {
      assert.throws(() => parseServerIdRange(bad), /NIMBUS_SERVER_ID_RANGE/, bad);
    }
  });

  it('gives block k the ids from first + 65536 k, and refuses a block past the range', () => {
    assert.equal(serverHostId(range, 0), 100_000_000);
    assert.equal(serverHostId(range, 4), 100_000_000 + 4 * IDS_PER_SERVER);
    for (const bad of [5, -1, 1.5]) assert.throws(() => serverHostId(range, bad), ComputeRejected);
  });

  it('reads any host id as the id it stands for inside a server', () => {
    assert.equal(idInsideServer(range, 0), 0);
    assert.equal(idInsideServer(range, 1000), 1000);
    assert.equal(idInsideServer(range, 100_000_000), 0);
    assert.equal(idInsideServer(range, 100_000_000 + 2 * IDS_PER_SERVER + 1000), 1000);
    // Neither unshifted nor in a block: nobody.
    assert.equal(idInsideServer(range, 70_000), 65534);
    assert.equal(idInsideServer(range, 200_000_000), 65534);
  });

  it('shifts a tree to a block and back, keeping setuid bits and never following symlinks', async () => {
    if (process.getuid?.() !== 0) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nimbus-ids-'));
    const outside = mkdtempSync(path.join(os.tmpdir(), 'nimbus-ids-outside-'));
    try {
      mkdirSync(path.join(dir, 'home'));
      writeFileSync(path.join(dir, 'home', 'file'), 'x');
      chownSync(path.join(dir, 'home', 'file'), 1000, 1000);
      writeFileSync(path.join(dir, 'su'), 'x');
      chmodSync(path.join(dir, 'su'), 0o4755);
      symlinkSync(outside, path.join(dir, 'link'));
      const base = serverHostId(range, 1);
      await shiftOwnership(range, dir, base);
      assert.equal(statSync(path.join(dir, 'home', 'file')).uid, base + 1000);
      assert.equal(statSync(path.join(dir, 'home', 'file')).gid, base + 1000);
      assert.equal(statSync(path.join(dir, 'su')).uid, base);
      assert.equal(statSync(path.join(dir, 'su')).mode & 0o7777, 0o4755);
      assert.equal(lstatSync(path.join(dir, 'link')).uid, base);
      assert.equal(statSync(outside).uid, 0, 'a symlink\'s target is never touched');
      assert.ok(await ownedByBlock(dir, base));
      // To another block, then back to the unshifted ids an image keeps.
      await shiftOwnership(range, dir, serverHostId(range, 3));
      assert.equal(statSync(path.join(dir, 'home', 'file')).uid, serverHostId(range, 3) + 1000);
      await shiftOwnership(range, dir, 0);
      assert.equal(statSync(path.join(dir, 'home', 'file')).uid, 1000);
      assert.ok(await ownedByBlock(dir, 0));
      assert.equal(await ownedByBlock(dir, base), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
