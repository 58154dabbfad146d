// Identity benchmark: one authenticated route (GET /api/status/) with an API token and with a
// bearer JWT exchanged from it, against a bare Fastify route; and password logins (Argon2id).
// Starts a real `nimbus serve` (SQLite in a temporary directory, or NIMBUS_DATABASE_URL) and
// prints its figures. Target: token-authenticated requests at least half the bare route's rate.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION_SECONDS = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = 32;
const ADMIN_PASSWORD = 'bench-lantern-orchard-77';
const TARGET_RATIO = 0.5;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function startNimbus() {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-identity-'));
  const child = spawn(process.execPath, [path.join(root, 'bin/nimbus.js'), 'serve', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'], {
    env: {
      ...process.env,
      NIMBUS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // The limiter runs on every request, but with limits the load cannot reach.
      NIMBUS_RATE_LIMIT: '1000000000',
      NIMBUS_RATE_LIMIT_ANONYMOUS: '1000000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor(`${baseUrl}/healthz`);
  const token = /admin API token: (\S+)/.exec(output)?.[1];
  if (!token) throw new Error(`no admin token in the start-up output (is the data directory fresh?): ${output}`);
  return { child, baseUrl, token, dataDir };
}

async function startBare() {
  const port = await freePort();
  const script = `import Fastify from 'fastify';
    const app = Fastify();
    app.get('/bare/', async () => ({ status: 'ok', version: '0', api_version: 1, server_time: new Date().toISOString(), user: { id: 'x', username: 'admin' }, organization: { id: 'y' } }));
    await app.listen({ port: ${port}, host: '127.0.0.1' });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}/bare/`;
  await waitFor(url);
  return { child, url };
}

interface Figures {
  requestsPerSecond: number;
  p99Ms: number;
  failures: number;
}

async function load(options: { url: string; headers?: Record<string, string>; method?: 'GET' | 'POST'; body?: string; connections?: number }): Promise<Figures> {
  // A short warm-up first (JIT, caches), then the measured run.
  await autocannon({ connections: CONNECTIONS, ...options, duration: 2 });
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_SECONDS, ...options });
  return { requestsPerSecond: Math.round(result.requests.average), p99Ms: result.latency.p99, failures: result.errors + result.timeouts + result.non2xx };
}

const nimbus = await startNimbus();
const bare = await startBare();
try {
  const statusUrl = `${nimbus.baseUrl}/api/status/`;
  const tokenHeaders = { authorization: `token="${nimbus.token}"` };
  const exchanged = await fetch(`${nimbus.baseUrl}/api/auth/tokens/exchange/`, { method: 'POST', headers: tokenHeaders });
  if (exchanged.status !== 200) throw new Error(`exchange answered ${exchanged.status}: ${await exchanged.text()}`);
  const bearerHeaders = { authorization: `Bearer ${(await exchanged.json()).token}` };
  for (const headers of [tokenHeaders, bearerHeaders]) {
    const res = await fetch(statusUrl, { headers });
    if (res.status !== 200) throw new Error(`GET /api/status/ answered ${res.status}: ${await res.text()}`);
  }

  // The server's first seconds under load run colder (lazily loaded modules, JIT tiers): warm
  // it up with both kinds of credential before measuring anything.
  for (const headers of [tokenHeaders, bearerHeaders]) await autocannon({ url: statusUrl, headers, connections: CONNECTIONS, duration: 4 });
  const bareFigures = await load({ url: bare.url });
  const tokenFigures = await load({ url: statusUrl, headers: tokenHeaders });
  const bearerFigures = await load({ url: statusUrl, headers: bearerHeaders });
  // Logins are bound by Argon2id (19 MiB, t=2): a few connections saturate the CPU.
  const loginFigures = await load({
    url: `${nimbus.baseUrl}/api/auth/login/`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    connections: 4,
  });

  const row = (name: string, f: Figures) =>
    `  ${name.padEnd(44)} ${String(f.requestsPerSecond).padStart(8)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   failures ${f.failures}`;
  const ratio = tokenFigures.requestsPerSecond / bareFigures.requestsPerSecond;
  console.log(`identity (${process.env.NIMBUS_DATABASE_URL ? 'PostgreSQL' : 'SQLite'}, ${os.cpus().length} CPUs, ${DURATION_SECONDS} s per run)`);
  console.log(row('bare Fastify route', bareFigures));
  console.log(row('GET /api/status/ with an API token', tokenFigures));
  console.log(row('GET /api/status/ with a bearer JWT', bearerFigures));
  console.log(row('POST /api/auth/login/ (Argon2id)', loginFigures));
  console.log(`  ratio token/bare: ${(ratio * 100).toFixed(1)}% (target >= ${TARGET_RATIO * 100}%) ${ratio >= TARGET_RATIO ? 'OK' : 'BELOW TARGET'}`);
  if (tokenFigures.failures + bearerFigures.failures + loginFigures.failures > 0) process.exitCode = 1;
} finally {
  await stop(nimbus.child);
  await stop(bare.child);
  fs.rmSync(nimbus.dataDir, { recursive: true, force: true });
}
