import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';

export interface ReadZipEntry {
  name: string;
  /** The Unix mode from the external attributes (type and permission bits). */
  mode: number;
  data: Buffer;
}

/**
 * Reads a whole zip as readers that trust the central directory do (Go's archive/zip among
 * them): each entry's local header, its stored data and data descriptor, its CRC checked.
 */
export function readZip(zip: Buffer): ReadZipEntry[] {
  const end = zip.length - 22;
  assert.equal(zip.readUInt32LE(end), 0x06054b50, 'end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ReadZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, 'central directory record');
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    assert.equal(method, 0, `${name} is stored`);
    assert.equal(zip.readUInt32LE(local), 0x04034b50, `${name}'s local header`);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataAt, dataAt + size);
    assert.equal(crc32(data) >>> 0, crc, `${name}'s CRC`);
    assert.equal(zip.readUInt32LE(dataAt + size), 0x08074b50, `${name}'s data descriptor`);
    assert.equal(zip.readUInt32LE(dataAt + size + 4), crc);
    entries.push({ name, mode, data: Buffer.from(data) });
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}
