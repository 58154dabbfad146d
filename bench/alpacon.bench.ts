// Alpacon's web shell and file transfer on a real `nimbus serve` (SQLite) running a server:
//   npm run bench alpacon        (needs root and runc)
// Env: BENCH_KEYSTROKES (default 300), BENCH_TRANSFER_ROUNDS (default 3).
// Prints the web shell's round trip, from a keystroke sent on its WebSocket to the echoed byte
// coming back (p50/p99), and the throughput of a 50 MiB file uploaded into the server and
// downloaded back (each from the POST that opens the transfer until the last byte is in),
// against a plain `cp` of the same file on this machine, alternated in the same run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebSocket } from 'undici';
import { startComputeNimbus } from './support/compute.ts';
import { percent, reportGoal } from './support/goals.ts';
import { percentile } from './support/load.ts';

const KEYSTROKES = Number(process.env.BENCH_KEYSTROKES ?? 300);
const ROUNDS = Number(process.env.BENCH_TRANSFER_ROUNDS ?? 3);
const FILE_BYTES = 50 * 1024 * 1024;
const ROUND_TRIP_GOAL_MS = 50;
const THROUGHPUT_GOAL = 0.25;

const compute = await startComputeNimbus('alpacon', { NIMBUS_NETWORK_RANGE: '10.197.0.0/16' });
const { api } = compute;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-alpacon-'));

function within<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

async function waitTask(id: string): Promise<void> {
  for (;;) {
    const task = await api('GET', `/api/tasks/tasks/${id}/wait/?timeout=60`);
    if (task.status === 'succeeded') return;
    if (['failed', 'cancelled'].includes(task.status)) throw new Error(`task ${id} ${task.status}: ${JSON.stringify(task.error)}`);
  }
}

async function waitCommand(id: string): Promise<void> {
  for (;;) {
    const command = await api('GET', `/api/events/commands/${id}/`);
    if (command.status === 'success') return;
    if (command.status === 'failed') throw new Error(`command ${id} failed: ${command.result}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Keystroke -> echoed byte, one at a time, on a web shell's WebSocket. */
async function shellRoundTrips(server: string): Promise<number[]> {
  const session = await api('POST', '/api/websh/sessions/', { server, rows: 24, cols: 80 });
  const socket = new WebSocket(session.websocket_url);
  socket.binaryType = 'arraybuffer';
  let screen = '';
  let waiting: { byte: string; resolve: () => void } | undefined;
  socket.addEventListener('message', (event) => {
    screen += Buffer.from(event.data as ArrayBuffer).toString('latin1');
    if (waiting && screen.endsWith(waiting.byte)) waiting.resolve();
  });
  await within(new Promise((resolve, reject) => (socket.addEventListener('open', resolve), socket.addEventListener('error', reject))), 'the web shell to open');
  await within((async () => { while (!/[#$] /.test(screen)) await new Promise((r) => setTimeout(r, 20)); })(), `a prompt (the screen shows ${JSON.stringify(screen.slice(-200))})`);
  // The prompt may come in pieces: let it settle before timing keystrokes.
  await new Promise((r) => setTimeout(r, 500));
  const times: number[] = [];
  for (let i = 0; i < KEYSTROKES; i++) {
    const byte = String.fromCharCode(97 + (i % 26));
    const echoed = new Promise<void>((resolve) => (waiting = { byte, resolve }));
    const started = performance.now();
    socket.send(Buffer.from(byte));
    await within(echoed, 'an echoed byte', 10_000);
    times.push(performance.now() - started);
    // A fresh line now and then keeps the shell's line editor short.
    if (i % 40 === 39) {
      socket.send(Buffer.from('\u0015'));
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  socket.send(Buffer.from('\u0015exit\r'));
  socket.close();
  return times;
}

/** Milliseconds from the POST to the last byte in, and of the content's own request alone. */
interface Timed {
  total: number;
  content: number;
}

async function upload(server: string, file: string): Promise<Timed> {
  const started = performance.now();
  const created = await api('POST', '/api/webftp/uploads/', { server, name: 'bench.bin', path: '/tmp/', allow_overwrite: true });
  const contentStarted = performance.now();
  const res = await fetch(created.upload_url, { method: 'PUT', body: Readable.toWeb(fs.createReadStream(file)) as ReadableStream, duplex: 'half', headers: { 'content-length': String(FILE_BYTES) } } as RequestInit);
  const answer = await res.json();
  if (res.status !== 200 || answer.success !== true) throw new Error(`upload: ${res.status} ${JSON.stringify(answer)}`);
  return { total: performance.now() - started, content: performance.now() - contentStarted };
}

async function download(server: string, into: string): Promise<Timed> {
  const started = performance.now();
  const created = await api('POST', '/api/webftp/downloads/', { server, path: '/tmp/bench.bin' });
  await waitCommand(created.command);
  const contentStarted = performance.now();
  const res = await fetch(created.download_url);
  if (res.status !== 200 || !res.body) throw new Error(`download: ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as never), fs.createWriteStream(into));
  const elapsed = { total: performance.now() - started, content: performance.now() - contentStarted };
  if (fs.statSync(into).size !== FILE_BYTES) throw new Error('download: the file came back short');
  return elapsed;
}

function plainCp(file: string, into: string): number {
  const started = performance.now();
  const copied = spawnSync('cp', [file, into]);
  if (copied.status !== 0) throw new Error(`cp: ${copied.stderr}`);
  return performance.now() - started;
}

const median = (values: number[]) => percentile(values, 50);
const mibPerSecond = (ms: number) => FILE_BYTES / 1024 / 1024 / (ms / 1000);

let failed = false;
try {
  const server = await api('POST', '/api/servers/servers/', { name: 'bench-alpacon', start: true });
  await waitTask(server.task);

  const times = await shellRoundTrips(server.id);
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  console.log(`web shell round trip (keystroke -> echoed byte, ${times.length} keystrokes): p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
  reportGoal({ bench: 'alpacon', figure: 'web shell keystroke round trip p99', measured: `${p99.toFixed(1)} ms (p50 ${p50.toFixed(1)} ms)`, goal: `≤ ${ROUND_TRIP_GOAL_MS} ms`, met: p99 <= ROUND_TRIP_GOAL_MS });

  const file = path.join(work, 'bench.bin');
  fs.writeFileSync(file, randomBytes(FILE_BYTES));
  const rounds = { cp: [] as number[], upload: [] as Timed[], download: [] as Timed[] };
  for (let round = 0; round < ROUNDS; round++) {
    rounds.cp.push(plainCp(file, path.join(work, 'copy.bin')));
    rounds.upload.push(await upload(server.id, file));
    rounds.download.push(await download(server.id, path.join(work, 'back.bin')));
    fs.rmSync(path.join(work, 'copy.bin'), { force: true });
    fs.rmSync(path.join(work, 'back.bin'), { force: true });
  }
  const cp = mibPerSecond(median(rounds.cp));
  for (const direction of ['upload', 'download'] as const) {
    const rate = mibPerSecond(median(rounds[direction].map((t) => t.total)));
    const content = mibPerSecond(median(rounds[direction].map((t) => t.content)));
    console.log(`${direction} of 50 MiB: ${rate.toFixed(0)} MiB/s (median of ${ROUNDS}; cp: ${cp.toFixed(0)} MiB/s; ratio ${percent(rate / cp)}); its content request alone: ${content.toFixed(0)} MiB/s`);
    reportGoal({ bench: 'alpacon', figure: `webftp ${direction} of 50 MiB`, measured: `${rate.toFixed(0)} MiB/s (${percent(rate / cp)} of cp's ${cp.toFixed(0)} MiB/s)`, goal: `≥ ${percent(THROUGHPUT_GOAL)} of cp`, met: rate / cp >= THROUGHPUT_GOAL });
  }
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  await compute.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
