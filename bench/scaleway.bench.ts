// Scaleway surface benchmark: the server list through /compat/scaleway/ against the same list
// through the native API, in the same run, on one real `nimbus serve` (SQLite).
//   npm run bench scaleway        (needs root and runc: the listed servers are real)
// Env: BENCH_SCALEWAY_SERVERS (servers listed, default 20).
// Prints req/s and p99 of both, and the translation layer's cost (target: under 15%).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNimbus } from './support/processes.ts';
import { compareWithNative } from './support/surface-cost.ts';

const SERVERS = Number(process.env.BENCH_SCALEWAY_SERVERS ?? 20);
const ADMIN_PASSWORD = 'bench-admin-password-scaleway';

if (process.getuid?.() !== 0 || spawnSync('runc', ['--version']).status !== 0) {
  console.error('scaleway bench: needs root and runc (apt-get install runc); skipped');
  process.exit(0);
}

const computeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-scaleway-'));
const nimbus = await startNimbus({ NIMBUS_COMPUTE_DIR: computeDir, NIMBUS_NETWORK_RANGE: '10.197.0.0/16', NIMBUS_ADMIN_PASSWORD: ADMIN_PASSWORD });

async function call(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<any> {
  const res = await fetch(`${nimbus.baseUrl}${url}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = res.status === 204 ? null : await res.json();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
const native = { authorization: `token="${nimbus.token}"` };

let failed = false;
const ids: string[] = [];
try {
  for (let i = 0; i < SERVERS; i++) {
    const server = await call('POST', '/api/servers/servers/', native, { name: `listed-${i}`, tags: ['bench'] });
    ids.push(server.id);
    await call('GET', `/api/tasks/tasks/${server.task}/wait/?timeout=120`, native);
  }
  const { token } = await call('POST', '/compat/scaleway/tokens', {}, { username: 'admin', password: ADMIN_PASSWORD, expires: false });
  const scaleway = { 'x-auth-token': token.id };
  const nativeUrl = `${nimbus.baseUrl}/api/servers/servers/?page_size=${SERVERS}`;
  const scalewayUrl = `${nimbus.baseUrl}/compat/scaleway/servers?per_page=${SERVERS}`;
  if ((await call('GET', `/compat/scaleway/servers?per_page=${SERVERS}`, scaleway)).servers.length !== SERVERS) throw new Error('the Scaleway list is short');

  console.log(`scaleway: a page of ${SERVERS} servers (SQLite, 10 connections, alternated)`);
  const labels = { bench: 'scaleway', native: `native GET /api/servers/servers/?page_size=${SERVERS}`, surface: `Scaleway GET /compat/scaleway/servers?per_page=${SERVERS}`, cost: 'Scaleway surface cost' };
  failed = await compareWithNative(labels, { url: nativeUrl, headers: native }, { url: scalewayUrl, headers: scaleway });
} finally {
  // The servers leave the host (their root volumes, bundles) before the process stops.
  for (const id of ids) {
    const task = await call('DELETE', `/api/servers/servers/${id}/`, native).catch(() => null);
    if (task) await call('GET', `/api/tasks/tasks/${task.id}/wait/?timeout=120`, native).catch(() => undefined);
  }
  await nimbus.stop();
  fs.rmSync(computeDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
