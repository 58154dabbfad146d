// Task pipeline benchmark: real `nimbus serve` processes, no-op tasks enqueued through the API.
//   npm run bench tasks                   SQLite (one process), and PostgreSQL (two processes)
//                                        when NIMBUS_BENCH_DATABASE_URL or NIMBUS_TEST_DATABASE_URL is set
// Env: BENCH_TASKS (default 20000), BENCH_WARMUP_TASKS (default 2000), BENCH_SKIP_SQLITE=1,
//      BENCH_CONCURRENCY (in-flight requests, default 64),
//      BENCH_IDLE_TASKS (default 200), NIMBUS_WORKER_CONCURRENCY (passed to the servers, default 64),
//      BENCH_CPU_PROFILE_DIR (the servers run with --cpu-prof and write their profiles there).
// Prints end-to-end throughput (enqueue -> succeeded) and pickup latency (created -> started),
// both under that load and for tasks sent one at a time to idle servers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Pool } from 'undici';
import { openStore, type Store } from '../src/store/database.ts';
import { reportGoal } from './support/goals.ts';
import { percentile } from './support/load.ts';
import { BENCH_RATE_LIMIT_ENV, freePort, repositoryRoot, stop } from './support/processes.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 20000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const IDLE_TASKS = Number(process.env.BENCH_IDLE_TASKS ?? 200);
const WARMUP_TASKS = Number(process.env.BENCH_WARMUP_TASKS ?? 2000);
const WORKER_CONCURRENCY = process.env.NIMBUS_WORKER_CONCURRENCY ?? '64';
// The servers' CPU profiles (.cpuprofile, written when they stop) go here when set.
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROFILE_DIR;
const POSTGRES_URL = process.env.NIMBUS_BENCH_DATABASE_URL || process.env.NIMBUS_TEST_DATABASE_URL;

interface Server {
  url: string;
  child: ChildProcess;
  output: () => string;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const profile = CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, path.join(repositoryRoot, 'bin/nimbus.js'), 'serve'], {
    env: { ...process.env, NIMBUS_HOST: '127.0.0.1', NIMBUS_PORT: String(port), NIMBUS_LOG_LEVEL: 'warn', NIMBUS_DNS_PORT: '0', NIMBUS_WORKER_CONCURRENCY: WORKER_CONCURRENCY, ...BENCH_RATE_LIMIT_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the server did not start:\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child, output: () => output };
}

/** The bootstrap token, which the server prints after it starts listening (once the admin is created). */
async function tokenFrom(server: Server): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const match = /admin API token: (\S+)\n/.exec(server.output());
    if (match) return match[1]!;
    if (Date.now() > deadline) throw new Error('no bootstrap token in the server output');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pools = new Map<string, Pool>();

async function closePools(): Promise<void> {
  await Promise.all([...pools.values()].map((pool) => pool.close()));
  pools.clear();
}

async function enqueue(url: string, token: string): Promise<string> {
  const pool = pools.get(url) ?? pools.set(url, new Pool(url, { connections: CONCURRENCY })).get(url)!;
  const response = await pool.request({
    method: 'POST',
    path: '/api/tasks/tasks/',
    headers: { authorization: `token="${token}"`, 'content-type': 'application/json' },
    body: '{"type":"noop"}',
  });
  const body = await response.body.text();
  if (response.statusCode !== 202) throw new Error(`enqueue answered ${response.statusCode}: ${body}`);
  return (JSON.parse(body) as { id: string }).id;
}

/** CPU seconds a process has used (Linux), so the cost per task can be read on a busy machine too. */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function timings(store: Store, ids: string[]) {
  const rows = [];
  for (let i = 0; i < ids.length; i += 500) {
    rows.push(...(await store.db.selectFrom('tasks').select(['status', 'created_at', 'started_at', 'finished_at']).where('id', 'in', ids.slice(i, i + 500)).execute()));
  }
  const pickup = rows.map((r) => Date.parse(r.started_at!) - Date.parse(r.created_at)).sort((a, b) => a - b);
  return { rows, pickup, lastFinished: Math.max(...rows.map((r) => Date.parse(r.finished_at ?? '0'))) };
}

async function waitUntilDone(store: Store): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const open = await store.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'in', ['pending', 'running']).executeTakeFirstOrThrow();
    if (Number(open.n) === 0) return;
    if (Date.now() > deadline) throw new Error('tasks did not finish within 10 minutes');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The CPU seconds of the database server's processes serving the bench's Nimbus processes (none on SQLite). */
type DatabaseCpu = () => Promise<number>;

async function run(label: string, goalTasksPerSecond: number, servers: Server[], token: string, store: Store, databaseCpu: DatabaseCpu = async () => 0): Promise<void> {
  // Warm-up: JIT, connection pools, token cache. A few hundred tasks leave the servers' code
  // half-optimized for the whole measured run (a third more CPU per task).
  await Promise.all(Array.from({ length: WARMUP_TASKS }, (_, i) => enqueue(servers[i % servers.length]!.url, token)));
  await waitUntilDone(store);

  const ids: string[] = [];
  let next = 0;
  const serverCpu = () => servers.reduce((sum, server) => sum + cpuSeconds(server.child.pid!), 0);
  const cpuBefore = serverCpu();
  const databaseCpuBefore = await databaseCpu();
  const benchCpuBefore = process.cpuUsage();
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      const url = servers[lane % servers.length]!.url;
      while (next < TASKS) {
        next += 1;
        ids.push(await enqueue(url, token));
      }
    }),
  );
  const enqueued = Date.now();
  await waitUntilDone(store);
  const cpuPerTaskMs = ((serverCpu() - cpuBefore) * 1000) / TASKS;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const benchCpuPerTaskMs = (benchCpu.user + benchCpu.system) / 1000 / TASKS;
  const databaseCpuPerTaskMs = (((await databaseCpu()) - databaseCpuBefore) * 1000) / TASKS;
  const load = await timings(store, ids);
  const failed = load.rows.filter((r) => r.status !== 'succeeded').length;
  const seconds = (load.lastFinished - started) / 1000;

  const idleIds: string[] = [];
  for (let i = 0; i < IDLE_TASKS; i++) {
    const url = servers[i % servers.length]!.url;
    const id = await enqueue(url, token);
    idleIds.push(id);
    await fetch(`${url}/api/tasks/tasks/${id}/wait/?timeout=10`, { headers: { authorization: `token="${token}"` } }).then((r) => r.arrayBuffer());
    await new Promise((r) => setTimeout(r, 10));
  }
  const idle = await timings(store, idleIds);

  console.log(`\n${label}`);
  console.log(`  ${TASKS} no-op tasks, ${CONCURRENCY} requests in flight${failed ? `, ${failed} NOT succeeded` : ''}`);
  console.log(`  enqueue rate:            ${Math.round(TASKS / ((enqueued - started) / 1000))} tasks/s`);
  console.log(`  server CPU per task:     ${cpuPerTaskMs.toFixed(2)} ms (all ${label.includes('two') ? 'Nimbus processes' : 'of it'}; ${Math.round(1000 / cpuPerTaskMs)} tasks/s per fully used core)`);
  if (databaseCpuPerTaskMs > 0) console.log(`  database CPU per task:   ${databaseCpuPerTaskMs.toFixed(2)} ms (the PostgreSQL backends of the Nimbus processes)`);
  console.log(`  bench CPU per task:      ${benchCpuPerTaskMs.toFixed(2)} ms (this process: the HTTP load and its polling)`);
  console.log(`  pickup under load:       p50 ${percentile(load.pickup, 50)} ms, p99 ${percentile(load.pickup, 99)} ms`);
  console.log(`  pickup when idle:        p50 ${percentile(idle.pickup, 50)} ms, p99 ${percentile(idle.pickup, 99)} ms (${IDLE_TASKS} tasks one at a time)`);
  const throughput = Math.round(TASKS / seconds);
  reportGoal({ bench: 'tasks', figure: `no-op tasks, enqueue through the API -> succeeded (${label})`, measured: `${throughput} tasks/s`, goal: `≥ ${goalTasksPerSecond} tasks/s`, met: throughput >= goalTasksPerSecond && failed === 0 });
}

/**
 * CPU seconds of the PostgreSQL backends named `applicationName` (same machine only; NaN
 * otherwise). Pools keep their connections under load, so the backends live through the run.
 */
async function backendCpu(admin: pg.Client, applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [applicationName]);
  return rows.reduce((sum, { pid }) => sum + cpuSeconds(pid), 0);
}

async function sqlite(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-'));
  const server = await startServer({ NIMBUS_DATA_DIR: dir });
  const store = openStore({ sqliteFile: path.join(dir, 'nimbus.db') });
  try {
    await run('SQLite, one process', 1000, [server], await tokenFrom(server), store);
  } catch (error) {
    console.error(`the server's output:\n${server.output()}`);
    throw error;
  } finally {
    await store.close();
    await stop(server.child);
    await closePools();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres(databaseUrl: string): Promise<void> {
  const schema = `nimbus_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  // Names the servers' connections, so that their backends' CPU can be told from anyone else's.
  url.searchParams.set('application_name', schema);
  // Replicas share one secret key, as they must.
  const env = { NIMBUS_DATABASE_URL: url.toString(), NIMBUS_SECRET_KEY: randomBytes(32).toString('base64url') };
  const servers: Server[] = [];
  const benchUrl = new URL(url);
  benchUrl.searchParams.set('application_name', `${schema}_bench`);
  const store = openStore({ postgresUrl: benchUrl.toString(), poolSize: 2 });
  try {
    servers.push(await startServer(env));
    servers.push(await startServer(env));
    await run('PostgreSQL, two processes', 2000, servers, await tokenFrom(servers[0]!), store, () => backendCpu(admin, schema));
  } finally {
    await store.close();
    await Promise.all(servers.map((server) => stop(server.child)));
    await closePools();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}

console.log(`task pipeline benchmark (${os.cpus().length} CPUs, Node ${process.version}, worker concurrency ${WORKER_CONCURRENCY})`);
if (process.env.BENCH_SKIP_SQLITE !== '1') await sqlite();
if (POSTGRES_URL) await postgres(POSTGRES_URL);
else console.log('\nPostgreSQL: skipped (set NIMBUS_BENCH_DATABASE_URL=postgres://...)');
