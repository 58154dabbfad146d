import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { create } from 'tar';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tarToZipEntries } from '../../../src/core/transfers/archive.ts';
import { zipStream, type ZipEntry } from '../../../src/core/transfers/zip.ts';
import { readZip } from '../../support/zip.ts';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function* listed(entries: ZipEntry[]) {
  yield* entries;
}

describe('zip archives of transfers', () => {
  it('writes files and directories, streamed, as a reader of the central directory reads them', async () => {
    const big = randomBytes(300_000);
    const zip = await collect(
      zipStream(
        listed([
          { name: 'tree/', directory: true, mode: 0o755, mtime: new Date() },
          { name: 'tree/big.bin', directory: false, mode: 0o640, mtime: new Date(), content: Readable.from([big.subarray(0, 1000), big.subarray(1000)]) },
          { name: 'tree/empty', directory: false, mode: 0o600, mtime: new Date(), content: Readable.from([]) },
          { name: 'tree/ünïcode', directory: false, mode: 0o644, mtime: new Date(), content: Readable.from([Buffer.from('é')]) },
        ]),
      ),
    );
    const entries = readZip(zip);
    assert.deepEqual(entries.map((e) => [e.name, e.mode.toString(8)]), [['tree/', '40755'], ['tree/big.bin', '100640'], ['tree/empty', '100600'], ['tree/ünïcode', '100644']]);
    assert.ok(entries[1]!.data.equals(big));
    assert.equal(entries[3]!.data.toString(), 'é');
  });

  it('turns a tar stream into zip entries: files and directories, never links, never a path out of the archive', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-zip-'));
    try {
      fs.mkdirSync(path.join(dir, 'tree', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'tree', 'a'), 'A');
      fs.writeFileSync(path.join(dir, 'tree', 'sub', 'b'), 'B');
      fs.symlinkSync('/etc/passwd', path.join(dir, 'tree', 'link'));
      const tar = create({ cwd: dir, portable: true }, ['./tree']) as unknown as Readable;
      const entries = readZip(await collect(zipStream(tarToZipEntries(Readable.from(tar)))));
      assert.deepEqual(entries.map((e) => e.name).sort(), ['tree/', 'tree/a', 'tree/sub/', 'tree/sub/b']);
      assert.equal(entries.find((e) => e.name === 'tree/sub/b')!.data.toString(), 'B');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends with the failure of the stream it reads', async () => {
    const failing = new Readable({ read() {} });
    failing.push(Buffer.alloc(100));
    setImmediate(() => failing.destroy(new Error('the script failed')));
    await assert.rejects(collect(zipStream(tarToZipEntries(failing))), /the script failed/);
  });
});
