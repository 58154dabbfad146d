import { crc32 } from 'node:zlib';
import { TooLarge } from '../errors.ts';

/** One file or directory of a zip; a file's content is read once, as the zip is written. */
export interface ZipEntry {
  /** Relative, with `/` between names; a directory's ends with `/`. */
  name: string;
  directory: boolean;
  /** Permission bits. */
  mode: number;
  mtime: Date;
  content?: AsyncIterable<Buffer>;
}

/** Past these a zip needs ZIP64 records, which this writer does not write. */
const MAX_OFFSET = 0xffff_ffff;
const MAX_ENTRIES = 0xffff;
/** Bit 3: sizes and CRC follow the content (it is streamed); bit 11: names are UTF-8. */
const FLAGS = 0x0008 | 0x0800;
/** Made by Unix (so readers take the mode from the external attributes), zip 2.0. */
const MADE_BY = (3 << 8) | 20;
const NEEDED = 20;

function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/**
 * Writes `entries` as a zip archive (stored, not compressed), one piece at a time: nothing but
 * the central directory's few bytes per entry is held in memory, so the size of what is zipped
 * does not matter. Throws when the archive would need ZIP64 (over 4 GiB or 65535 entries).
 */
export async function* zipStream(entries: AsyncIterable<ZipEntry>): AsyncGenerator<Buffer> {
  const central: Buffer[] = [];
  let offset = 0;
  let count = 0;
  const tooBig = () => new TooLarge('The archive would be larger than a zip holds here (4 GiB, 65535 entries): download less at once.', 'webftp_archive_too_large');

  for await (const entry of entries) {
    if (++count > MAX_ENTRIES) throw tooBig();
    const name = Buffer.from(entry.name, 'utf8');
    const { time, date } = dosDateTime(entry.mtime);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(NEEDED, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt16LE(name.length, 26);
    const headerOffset = offset;
    yield Buffer.concat([local, name]);
    offset += 30 + name.length;

    let crc = 0;
    let size = 0;
    if (!entry.directory && entry.content) {
      for await (const chunk of entry.content) {
        crc = crc32(chunk, crc);
        size += chunk.length;
        if (offset + size > MAX_OFFSET) throw tooBig();
        yield chunk;
      }
    }
    offset += size;
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeUInt32LE(size, 8);
    descriptor.writeUInt32LE(size, 12);
    yield descriptor;
    offset += 16;
    if (offset > MAX_OFFSET) throw tooBig();

    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(MADE_BY, 4);
    record.writeUInt16LE(NEEDED, 6);
    record.writeUInt16LE(FLAGS, 8);
    record.writeUInt16LE(0, 10);
    record.writeUInt16LE(time, 12);
    record.writeUInt16LE(date, 14);
    record.writeUInt32LE(crc >>> 0, 16);
    record.writeUInt32LE(size, 20);
    record.writeUInt32LE(size, 24);
    record.writeUInt16LE(name.length, 28);
    const unixMode = (entry.directory ? 0o040000 : 0o100000) | (entry.mode & 0o7777);
    record.writeUInt32LE(((unixMode << 16) | (entry.directory ? 0x10 : 0)) >>> 0, 38);
    record.writeUInt32LE(headerOffset, 42);
    central.push(record, name);
  }

  const directory = Buffer.concat(central);
  if (offset + directory.length > MAX_OFFSET) throw tooBig();
  yield directory;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  yield end;
}
