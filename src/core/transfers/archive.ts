import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import type { ZipEntry } from './zip.ts';

/** A tar entry's path as a zip name: relative, without `.` or `..` segments; undefined when none is left. */
function zipName(path: string, directory: boolean): string | undefined {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  return parts.join('/') + (directory ? '/' : '');
}

/**
 * The regular files and directories of a tar stream, in order, as zip entries; links and
 * special files are left out (a link's target means nothing outside its server). Each file's
 * content must be read before the next entry is asked for. A failure of the stream (its
 * script failed, or it passed its size bound) ends the iteration with that failure.
 */
export async function* tarToZipEntries(source: Readable): AsyncGenerator<ZipEntry> {
  const parser = new Parser();
  const queue: ReadEntry[] = [];
  let current: ReadEntry | undefined;
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    wake?.();
    wake = undefined;
  };
  const fail = (error: Error) => {
    failure ??= error;
    current?.emit('error', failure);
    poke();
  };
  parser.on('entry', (entry: ReadEntry) => {
    queue.push(entry);
    poke();
  });
  parser.on('end', () => {
    finished = true;
    poke();
  });
  parser.on('error', fail);
  source.on('error', fail);
  source.pipe(parser as unknown as NodeJS.WritableStream);
  try {
    for (;;) {
      if (failure) throw failure;
      const entry = queue.shift();
      if (!entry) {
        if (finished) return;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      current = entry;
      const directory = entry.type === 'Directory';
      const file = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
      const name = zipName(entry.path, directory);
      const meta = { mode: entry.mode ?? (directory ? 0o755 : 0o644), mtime: entry.mtime ?? new Date() };
      if (name && file) yield { name, directory: false, ...meta, content: entry as AsyncIterable<Buffer> };
      else {
        entry.resume();
        if (name && directory) yield { name, directory: true, ...meta };
      }
      current = undefined;
    }
  } finally {
    source.destroy();
  }
}
