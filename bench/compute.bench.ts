// Compute benchmark: servers created through the API of a real `nimbus serve` (SQLite), run by
// runc on this host, against a bare `runc run -d` of an equivalent bundle in the same run.
//   npm run bench compute        (needs root and runc)
// Env: BENCH_SERVERS (single-server runs, default 15), BENCH_BATCH (default 50); NIMBUS_SERVER_POOL
// passes through (0: no spare volumes or image copies, to compare).
// Prints create -> running latency p50/p95 for Nimbus (POST with start, until its task
// succeeded; another server of the organization runs meanwhile, so its network exists) and for bare runc (the same config.json, the image's root filesystem read-only and
// a fresh network namespace, so no volume or network set-up), their ratio, and the time to
// bring BENCH_BATCH servers up and to terminate them. Before each single-server run the pool of
// spares is given up to 15 s to refill, as between servers created a moment apart; the batch
// drains it.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startComputeNimbus } from './support/compute.ts';
import { reportGoal } from './support/goals.ts';
import { percentile } from './support/load.ts';

const SINGLE_RUNS = Number(process.env.BENCH_SERVERS ?? 15);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const TARGET_RATIO = 1.5;

const compute = await startComputeNimbus('compute', { NIMBUS_NETWORK_RANGE: '10.198.0.0/16', NIMBUS_STOP_TIMEOUT_SECONDS: '5' });
const { api, computeDir } = compute;
const bareDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-bare-'));

async function waitTask(id: string): Promise<void> {
  for (;;) {
    const task = await api('GET', `/api/tasks/tasks/${id}/wait/?timeout=60`);
    if (task.status === 'succeeded') return;
    if (['failed', 'cancelled'].includes(task.status)) throw new Error(`task ${id} ${task.status}: ${JSON.stringify(task.error)}`);
  }
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
const POOL = Number(process.env.NIMBUS_SERVER_POOL ?? 2);

/** Complete spares of one key of the pool (`spares/<kind>/<key>/`). */
function spares(kind: 'volumes' | 'images', key: string): number {
  const dir = path.join(computeDir, 'spares', kind, key);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => !name.endsWith('.partial')).length : 0;
}

/** Waits (15 s at most) for the pool to hold a full set of spares for the next server; whether it does. */
async function poolRefilled(rootBytes: string, image: string): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (spares('volumes', rootBytes) >= POOL && spares('images', image) >= POOL) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function createRunning(name: string): Promise<{ id: string; elapsed: number }> {
  const started = performance.now();
  const server = await api('POST', '/api/servers/servers/', { name, start: true });
  await waitTask(server.task);
  return { id: server.id, elapsed: performance.now() - started };
}

/** A credential holds at most 20 long polls at once: the tasks of a batch are waited for 16 at a time. */
const WAITS_AT_ONCE = 16;

async function waitTasks(ids: string[]): Promise<void> {
  const queue = [...ids];
  await Promise.all(Array.from({ length: Math.min(WAITS_AT_ONCE, queue.length) }, async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await waitTask(id);
  }));
}

async function terminate(ids: string[]): Promise<void> {
  const tasks = [];
  for (const id of ids) tasks.push((await api('POST', `/api/servers/servers/${id}/actions/`, { action: 'terminate' })).id as string);
  await waitTasks(tasks);
}

/** A bundle runc can run as it is: the server's own config, minus what only Nimbus sets up. */
function bareBundle(serverId: string, imageRootfs: string): string {
  const config = JSON.parse(fs.readFileSync(path.join(computeDir, 'servers', serverId, 'config.json'), 'utf8'));
  const bundle = path.join(bareDir, 'bundle');
  fs.mkdirSync(bundle, { recursive: true });
  config.root = { path: imageRootfs, readonly: true };
  config.linux.namespaces = config.linux.namespaces.map((ns: { type: string }) => ({ type: ns.type }));
  config.mounts = config.mounts.filter((m: { destination: string }) => !['/etc/hosts', '/etc/hostname'].includes(m.destination));
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

function bareRun(bundle: string, id: string): number {
  const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
  config.linux.cgroupsPath = `/nimbus-bench/${id}`;
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  const root = ['--root', path.join(bareDir, 'runc')];
  const started = performance.now();
  execFileSync('runc', [...root, 'run', '--detach', '--bundle', bundle, id], { stdio: 'ignore' });
  const elapsed = performance.now() - started;
  spawnSync('runc', [...root, 'delete', '--force', id], { stdio: 'ignore' });
  return elapsed;
}

let failed = false;
try {
  // Warm-up: prepares the built-in image and the organization's network, both one-time costs.
  // It stays up through the single-server runs, as an organization's other servers would: its
  // private network (the bridge) exists, and each measured server only joins it.
  const warm = await createRunning('bench-warm');
  const warmServer = await api('GET', `/api/servers/servers/${warm.id}/`);
  const image = warmServer.image as string;
  const rootBytes = String((await api('GET', `/api/storage/volumes/${warmServer.root_volume}/`)).size);
  const bundle = bareBundle(warm.id, path.join(computeDir, 'images', image, 'rootfs'));
  bareRun(bundle, 'bench-bare-warm');

  const nimbusTimes: number[] = [];
  const bareTimes: number[] = [];
  let poolReady = 0;
  for (let i = 0; i < SINGLE_RUNS; i++) {
    bareTimes.push(bareRun(bundle, `bench-bare-${i}`));
    if (POOL > 0 && (await poolRefilled(rootBytes, image))) poolReady++;
    const server = await createRunning(`bench-${i}`);
    nimbusTimes.push(server.elapsed);
    await terminate([server.id]);
  }
  await terminate([warm.id]);

  const ratio = percentile(nimbusTimes, 50) / percentile(bareTimes, 50);
  console.log(`compute: create -> running, ${SINGLE_RUNS} servers one at a time beside a running one (SQLite, built-in image, 1 vCPU, 256 MiB; pool of ${POOL} spares, full before ${poolReady} of the runs; load average ${os.loadavg()[0]!.toFixed(1)})`);
  console.log(`  nimbus (API + task + volume + network + runc)  p50 ${ms(percentile(nimbusTimes, 50))}  p95 ${ms(percentile(nimbusTimes, 95))}`);
  console.log(`  bare runc run -d (same config.json)            p50 ${ms(percentile(bareTimes, 50))}  p95 ${ms(percentile(bareTimes, 95))}`);
  reportGoal({ bench: 'compute', figure: 'server create -> running vs bare runc run (p50)', measured: `${ms(percentile(nimbusTimes, 50))} vs ${ms(percentile(bareTimes, 50))}: ${ratio.toFixed(2)}x`, goal: `≤ ${TARGET_RATIO}x`, met: ratio <= TARGET_RATIO });

  const batchStarted = performance.now();
  const created = await Promise.all(Array.from({ length: BATCH }, (_, i) => api('POST', '/api/servers/servers/', { name: `batch-${i}`, start: true })));
  await waitTasks(created.map((s) => s.task));
  const up = performance.now() - batchStarted;
  const downStarted = performance.now();
  await terminate(created.map((s) => s.id));
  const down = performance.now() - downStarted;
  console.log(`compute: ${BATCH} servers up (created at once, until every task succeeded): ${(up / 1000).toFixed(1)} s; terminated: ${(down / 1000).toFixed(1)} s`);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  // The organization's bridge, and anything a failed run left.
  const released = await compute.stop();
  if (released.length && failed) console.error(`released after the run: ${released.join('; ')}`);
  fs.rmSync(bareDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

