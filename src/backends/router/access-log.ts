import fs from 'node:fs';

/** An access line of an app, as its logs keep it. */
export interface AccessLine {
  appId: string;
  line: string;
  /** When it was served (ISO 8601). */
  at: string;
}

/**
 * One entry of the router's access log (`log_format nimbus` in nginx-config.ts): app id, time
 * (seconds since the epoch and milliseconds, as `$msec` writes it), status, seconds taken,
 * request id, client address, then the processes tried and the request line, quoted.
 */
const ENTRY = /^(\S+) (\d+)\.(\d{3}) (\S+) (\S+) (\S+) (\S+) "([^"]*)" "(.*)"$/;

/**
 * Turns entries into the lines an app's logs show: `client "request" status 1.2ms
 * backend=address request_id=id`, with the time in ISO 8601. The date and time of a second are
 * written once (a busy router logs thousands of requests in the same second, and formatting a
 * date costs more than the rest of the line).
 */
function entryParser() {
  let second = '';
  let secondIso = '';
  return (raw: string): AccessLine | undefined => {
    const match = ENTRY.exec(raw);
    if (!match) return undefined;
    const [, appId, seconds, millis, status, taken, id, client, backend, request] = match as unknown as string[];
    if (seconds !== second) {
      second = seconds!;
      secondIso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
    }
    const ms = (Number(taken) * 1000).toFixed(1);
    return { appId: appId!, line: `${client} "${request}" ${status} ${ms}ms backend=${backend} request_id=${id}`, at: `${secondIso}.${millis}Z` };
  };
}

const CHUNK = 256 * 1024;
/** A renamed log is removed once it has not grown for this long and the new one exists (nginx flushes its buffer there every 100 ms). */
const ROTATED_QUIET_MS = 1_000;

/**
 * Reads what nginx appends to its access log, from where the last read stopped. Past
 * `rotateBytes`, the file is renamed and `reopen` asks nginx to open a new one; the renamed
 * one is read to its end (nginx writes out its buffer there before it switches) and removed
 * once the new one exists and the old one has stopped growing: no line is read twice or lost.
 */
export function createAccessLogReader({ file, rotateBytes, reopen }: { file: string; rotateBytes: number; reopen(): void }) {
  let fd: number | undefined;
  let offset = 0;
  /** The renamed file, still read until nginx has switched. */
  let rotated: { fd: number; offset: number; path: string; grewAt: number } | undefined;
  let partial = '';
  const buffer = Buffer.allocUnsafe(CHUNK);
  const parseEntry = entryParser();

  const open = (): number | undefined => {
    try {
      return fs.openSync(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };

  /** Everything from `from` to the end of `descriptor`; returns the new offset. */
  function readFrom(descriptor: number, from: number, text: string[]): number {
    let at = from;
    for (;;) {
      const read = fs.readSync(descriptor, buffer, 0, CHUNK, at);
      if (read === 0) return at;
      // nginx writes what is not printable ASCII as \xHH: a chunk never ends inside a character.
      text.push(buffer.toString('latin1', 0, read));
      at += read;
    }
  }

  function parse(text: string[]): AccessLine[] {
    const lines = (partial + text.join('')).split('\n');
    // What follows the last newline is a line nginx has not finished writing.
    partial = lines.pop()!;
    const parsed: AccessLine[] = [];
    for (const raw of lines) {
      // A line cut by a crash of nginx matches nothing: there is nothing to show of it.
      const line = parseEntry(raw);
      if (line) parsed.push(line);
    }
    return parsed;
  }

  return {
    /** The lines appended since the last call. */
    read(): AccessLine[] {
      const text: string[] = [];
      if (rotated) {
        const before = rotated.offset;
        rotated.offset = readFrom(rotated.fd, rotated.offset, text);
        if (rotated.offset > before) rotated.grewAt = Date.now();
      }
      fd ??= open();
      if (fd !== undefined) offset = readFrom(fd, offset, text);
      if (rotated && fd !== undefined && Date.now() - rotated.grewAt > ROTATED_QUIET_MS) {
        fs.closeSync(rotated.fd);
        fs.rmSync(rotated.path, { force: true });
        rotated = undefined;
      }
      if (!rotated && fd !== undefined && offset >= rotateBytes) {
        const renamed = `${file}.old`;
        fs.renameSync(file, renamed);
        rotated = { fd, offset, path: renamed, grewAt: Date.now() };
        fd = undefined;
        offset = 0;
        reopen();
      }
      return parse(text);
    },
    /** Forgets the files (after a final `read`): the next nginx starts a new log. */
    reset(): void {
      for (const descriptor of [fd, rotated?.fd]) if (descriptor !== undefined) fs.closeSync(descriptor);
      if (rotated) fs.rmSync(rotated.path, { force: true });
      fs.rmSync(file, { force: true });
      fd = undefined;
      rotated = undefined;
      offset = 0;
      partial = '';
    },
  };
}
