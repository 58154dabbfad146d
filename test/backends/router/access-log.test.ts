import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createAccessLogReader } from '../../../src/backends/router/access-log.ts';

/** A line as nginx writes it (`log_format nimbus`). */
const entry = (app: string, n: number) => `${app} 1767225600.250 200 0.002 id-${n} 203.0.113.9 "10.0.0.2:5000" "GET /${n} HTTP/1.1"\n`;

describe("the router's access log reader", () => {
  it('reads each line once, as the app logs show it, and waits for a line nginx has not finished', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-access-'));
    try {
      const file = path.join(dir, 'access.log');
      const reader = createAccessLogReader({ file, rotateBytes: 1024 ** 2, reopen: () => assert.fail('no rotation') });
      assert.deepEqual(reader.read(), [], 'no log yet');
      const second = entry('app-b', 2);
      fs.writeFileSync(file, entry('app-a', 1) + second.slice(0, 20));
      assert.deepEqual(reader.read(), [{ appId: 'app-a', line: '203.0.113.9 "GET /1 HTTP/1.1" 200 2.0ms backend=10.0.0.2:5000 request_id=id-1', at: '2026-01-01T00:00:00.250Z' }]);
      fs.appendFileSync(file, `${second.slice(20)}app-c 1767225600.2\napp-d 1767225600.300 502 0.010 id-3 203.0.113.9 "10.0.0.2:5000, 10.0.0.3:5000" "GET /say?\\x22hi\\x22 HTTP/1.1"\n`);
      assert.deepEqual(reader.read().map((l) => [l.appId, l.line]), [
        ['app-b', '203.0.113.9 "GET /2 HTTP/1.1" 200 2.0ms backend=10.0.0.2:5000 request_id=id-2'],
        ['app-d', '203.0.113.9 "GET /say?\\x22hi\\x22 HTTP/1.1" 502 10.0ms backend=10.0.0.2:5000, 10.0.0.3:5000 request_id=id-3'],
      ], 'a cut line shows nothing; the processes tried and an escaped request line show as nginx wrote them');
      assert.deepEqual(reader.read(), []);
      reader.reset();
      assert.equal(fs.existsSync(file), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives each line the time nginx wrote, to the millisecond, across seconds and days', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-access-'));
    try {
      const file = path.join(dir, 'access.log');
      const reader = createAccessLogReader({ file, rotateBytes: 1024 ** 2, reopen: () => assert.fail('no rotation') });
      // Seconds and milliseconds as $msec writes them: the same second many times, the next one, the last of a day, the first of the next.
      const times = [[1767225600, 0], [1767225600, 1], [1767225600, 999], [1767225601, 250], [1767311999, 999], [1767312000, 0], [1767225600, 7], [2000000000, 123]];
      fs.writeFileSync(file, times.map(([s, ms]) => `app-a ${s}.${String(ms).padStart(3, '0')} 200 0.001 id 203.0.113.9 "10.0.0.2:5000" "GET / HTTP/1.1"\n`).join(''));
      assert.deepEqual(reader.read().map((l) => l.at), times.map(([s, ms]) => new Date(s! * 1000 + ms!).toISOString()));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rotates past its size without losing or repeating a line, and removes the old file once nginx has switched', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-access-'));
    try {
      const file = path.join(dir, 'access.log');
      // As nginx does: appends through a descriptor it keeps, and on reopen writes out its buffer there first.
      let writer = fs.openSync(file, 'a');
      let reopened = 0;
      let n = 0;
      const reader = createAccessLogReader({
        file,
        rotateBytes: 2_000,
        reopen() {
          reopened += 1;
          fs.writeSync(writer, entry('app-a', n++));
          fs.closeSync(writer);
          writer = fs.openSync(file, 'a');
        },
      });
      const seen: string[] = [];
      // Twice: a rotation, then another once the renamed file is gone.
      for (let phase = 0; phase < 2; phase++) {
        for (let round = 0; round < 15; round++) {
          for (let i = 0; i < 5; i++) fs.writeSync(writer, entry('app-a', n++));
          seen.push(...reader.read().map((l) => l.line));
        }
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        seen.push(...reader.read().map((l) => l.line));
      }
      // Nothing more is written: the last renamed file goes once it has been quiet.
      for (let wait = 0; wait < 3 && fs.readdirSync(dir).length > 1; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 1_100));
        seen.push(...reader.read().map((l) => l.line));
      }
      fs.closeSync(writer);
      assert.ok(reopened >= 2, `rotated ${reopened} times`);
      assert.deepEqual(seen.map((line) => Number(/GET \/(\d+) /.exec(line)![1])), [...Array(n).keys()], 'every line once, in order');
      assert.deepEqual(fs.readdirSync(dir), ['access.log'], 'the rotated file is removed');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
