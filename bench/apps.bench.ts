// Apps benchmark: the sample Node.js app deployed through the API of a real `nimbus serve`
// (SQLite) and served by its router, against calling the app's container directly, in one run.
//   npm run bench apps        (needs root and runc)
// Env: BENCH_DEPLOYS (deploy-to-serving runs of each kind, default 3), BENCH_SECONDS (load, default 8),
// BENCH_ROUNDS (rounds of the load comparison, default 3).
// Prints deploy-to-serving time with the build (POST of the archive until the router serves the
// new version) and without it (a rollback: the same roll-out of an already built slug), then
// requests/s and p50/p99 latency through the router and straight to the container, their
// throughput ratio (target: 70% or more) and the latency the router adds at p50 (target: < 1 ms),
// and the same through a bare TCP relay: the least any user-space proxy costs on this machine.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRuncAppHost } from '../src/backends/apps/index.ts';
import { createRuncHosts } from '../src/backends/runc/index.ts';
import { sampleArchive } from '../test/support/sample-app.ts';
import { percent, reportGoal } from './support/goals.ts';
import { LOADER, alternatedRounds, percentile } from './support/load.ts';
import { freePort, startNimbus, startTcpRelay } from './support/processes.ts';

const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_RATIO = 0.7;
const TARGET_ADDED_P50_MS = 1;

if (process.getuid?.() !== 0 || spawnSync('runc', ['--version']).status !== 0) {
  console.error('apps bench: needs root and runc (apt-get install runc); skipped');
  process.exit(0);
}

const computeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-apps-'));
const routerPort = await freePort();
const nimbus = await startNimbus({ NIMBUS_COMPUTE_DIR: computeDir, NIMBUS_NETWORK_RANGE: '10.197.0.0/16', NIMBUS_ROUTER_PORT: String(routerPort), NIMBUS_STOP_TIMEOUT_SECONDS: '5' });
const HOST = 'bench-sample.apps.localhost';

async function api(method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<any> {
  const res = await fetch(`${nimbus.baseUrl}${url}`, {
    method,
    headers: { authorization: `token="${nimbus.token}"`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function waitTask(id: string): Promise<void> {
  for (;;) {
    const task = await api('GET', `/api/tasks/tasks/${id}/wait/?timeout=120`);
    if (task.status === 'succeeded') return;
    if (['failed', 'cancelled'].includes(task.status)) throw new Error(`task ${id} ${task.status}: ${JSON.stringify(task.error)}`);
  }
}

/** The version the router serves for the app, or undefined. */
function servedVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port: routerPort, path: '/', headers: { host: HOST }, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 ? (JSON.parse(body) as { version: string }).version : undefined));
    });
    request.on('error', () => resolve(undefined));
  });
}

async function untilServing(version: string): Promise<void> {
  while ((await servedVersion()) !== version) await new Promise((resolve) => setTimeout(resolve, 20));
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
let failed = false;
try {
  await api('POST', '/api/apps/apps/', { name: 'bench-sample' });
  // Warm-up: the first deployment makes the stack and the organization's network (one-time costs).
  await waitTask((await api('POST', '/api/apps/apps/bench-sample/deployments/', await sampleArchive({ version: 'v0' }), 'application/gzip')).task);
  await untilServing('v0');

  const withBuild: number[] = [];
  const withoutBuild: number[] = [];
  const currentVersion = async () => (await api('GET', '/api/apps/apps/bench-sample/releases/?page_size=100')).results.find((r: { current: boolean }) => r.current).version as number;
  for (let i = 1; i <= DEPLOYS; i++) {
    const before = { label: `v${i - 1}`, version: await currentVersion() };
    const archive = await sampleArchive({ version: `v${i}`, build: 'ok' });
    let started = performance.now();
    await waitTask((await api('POST', '/api/apps/apps/bench-sample/deployments/', archive, 'application/gzip')).task);
    await untilServing(`v${i}`);
    withBuild.push(performance.now() - started);
    // Back to the release before: the same roll-out, of a slug already built.
    started = performance.now();
    await waitTask((await api('POST', '/api/apps/apps/bench-sample/rollback/', { version: before.version })).id);
    await untilServing(before.label);
    withoutBuild.push(performance.now() - started);
    // Forward again, so the next deployment starts from v<i>.
    await waitTask((await api('POST', '/api/apps/apps/bench-sample/rollback/', { version: before.version + 1 })).id);
    await untilServing(`v${i}`);
  }

  const container = (await api('GET', '/api/apps/apps/bench-sample/containers/')).containers.find((c: { type: string; state: string }) => c.type === 'web' && c.state === 'up');
  const relay = await startTcpRelay(container.address, 5000);
  // The router's CPU: nimbus serve (reading the routes, writing the access lines into the logs) and nginx's processes.
  const routerPid = Number(fs.readFileSync(path.join(computeDir, 'router', 'nginx.pid'), 'utf8'));
  const nginxPids = [routerPid, ...fs.readFileSync(`/proc/${routerPid}/task/${routerPid}/children`, 'utf8').trim().split(' ').map(Number)];
  const targets = {
    direct: { url: `http://${container.address}:5000/`, connections: 10, durationSeconds: SECONDS },
    router: { url: `http://127.0.0.1:${routerPort}/`, headers: { host: HOST }, connections: 10, durationSeconds: SECONDS, cpuOf: [nimbus.child.pid!, ...nginxPids] },
    relay: { url: `http://127.0.0.1:${relay.port}/`, connections: 10, durationSeconds: SECONDS, cpuOf: relay.child.pid },
  };
  const { medians, runs } = await alternatedRounds(targets, ROUNDS).finally(() => relay.child.kill());
  for (const [name, figures] of Object.entries(runs)) {
    const failed = figures.find((f) => f.errors || f.non2xx);
    if (failed) throw new Error(`load errors through ${name}: ${failed.errors} errors, ${failed.non2xx} non-2xx`);
  }
  const { direct, router: routed, relay: relayed } = medians;
  const ratio = routed.requestsPerSecond / direct.requestsPerSecond;
  const added = routed.p50Ms - direct.p50Ms;
  if (DEPLOYS > 0) {
    console.log(`apps: deploy -> serving, the sample Node.js app (1 web process, size M), ${DEPLOYS} runs each (SQLite)`);
    console.log(`  with the build (upload, npm ci + npm run build, release, roll-out)  p50 ${ms(percentile(withBuild, 50))}  max ${ms(Math.max(...withBuild))}`);
    console.log(`  without it (rollback: release + roll-out of a built slug)          p50 ${ms(percentile(withoutBuild, 50))}  max ${ms(Math.max(...withoutBuild))}`);
  }
  console.log(`apps: router vs the container directly, ${LOADER}, 10 connections, ${SECONDS} s each, ${ROUNDS} alternated rounds (the median round of each)`);
  console.log(`  direct     ${direct.requestsPerSecond} req/s  p50 ${direct.p50Ms} ms  p99 ${direct.p99Ms} ms`);
  console.log(`  router     ${routed.requestsPerSecond} req/s  p50 ${routed.p50Ms} ms  p99 ${routed.p99Ms} ms`);
  console.log(`  TCP relay  ${relayed.requestsPerSecond} req/s  p50 ${relayed.p50Ms} ms  p99 ${relayed.p99Ms} ms  (${((relayed.requestsPerSecond / direct.requestsPerSecond) * 100).toFixed(0)}% of direct: the ceiling of any user-space proxy here)`);
  const cpu = (name: keyof typeof runs) => percentile(runs[name].map((f) => f.cpuUsPerRequest!), 50);
  console.log(`  CPU per request (median round): router ${cpu('router')} us (nginx and nimbus serve), TCP relay ${cpu('relay')} us`);
  console.log(`  rounds (req/s): ${Object.entries(runs).map(([name, figures]) => `${name} ${figures.map((f) => f.requestsPerSecond).join(', ')}`).join('; ')}`);
  reportGoal({ bench: 'apps', figure: 'router throughput vs the container directly', measured: `${routed.requestsPerSecond} vs ${direct.requestsPerSecond} req/s: ${percent(ratio)}`, goal: `≥ ${percent(TARGET_RATIO)}`, met: ratio >= TARGET_RATIO });
  reportGoal({ bench: 'apps', figure: 'latency the router adds at p50', measured: `${added.toFixed(2)} ms (p99 ${(routed.p99Ms - direct.p99Ms).toFixed(2)} ms)`, goal: `< ${TARGET_ADDED_P50_MS} ms`, met: added < TARGET_ADDED_P50_MS });
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await nimbus.stop();
  // The app's containers outlive nimbus serve by design: release them and everything else.
  const { compute, parts } = createRuncHosts({ root: computeDir });
  await createRuncAppHost(parts).sweep({ processes: new Set(), slugs: new Set() });
  await compute.sweep({ servers: new Set(), volumes: new Set(), networks: new Set() });
  fs.rmSync(computeDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
