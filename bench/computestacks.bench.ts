// ComputeStacks benchmark: the project list through the ComputeStacks surface against the native
// projects route it translates, same server, same data, same run.
//   npm run bench computestacks
// Env: BENCH_PROJECTS (default 20).
// Prints req/s and p99 of `GET /compat/computestacks/api/projects?per_page=<n>` (HTTP Basic with
// API credentials) and of `GET /api/projects/projects/?page_size=<n>` (API token), each measured
// twice, alternating, and what the surface costs (target: under 15%).
import { jsonCaller } from './support/api.ts';
import { startNimbus } from './support/processes.ts';
import { compareWithNative } from './support/surface-cost.ts';

const PROJECTS = Number(process.env.BENCH_PROJECTS ?? 20);

const nimbus = await startNimbus();
let failed = false;
try {
  const native = { authorization: `token="${nimbus.token}"` };
  const call = jsonCaller(nimbus.baseUrl);
  for (let i = 0; i < PROJECTS; i++) await call('POST', '/api/projects/projects/', native, { name: `bench-project-${String(i).padStart(3, '0')}` });
  const pair = await call('POST', '/api/auth/credentials/', native, {});
  const computestacks = { authorization: `Basic ${Buffer.from(`${pair.username}:${pair.password}`).toString('base64')}` };
  const urls = { native: `${nimbus.baseUrl}/api/projects/projects/?page_size=${PROJECTS}`, computestacks: `${nimbus.baseUrl}/compat/computestacks/api/projects?per_page=${PROJECTS}` };
  const listed = [(await call('GET', urls.native.slice(nimbus.baseUrl.length), native)).results?.length, (await call('GET', urls.computestacks.slice(nimbus.baseUrl.length), computestacks)).projects?.length];
  if (listed.some((n) => n !== PROJECTS)) throw new Error(`expected ${PROJECTS} projects both ways, got ${listed.join(' and ')}`);

  console.log(`computestacks: ${PROJECTS} projects (SQLite), alternating, two rounds`);
  const labels = { bench: 'computestacks', native: 'native project list', surface: 'ComputeStacks project list', cost: 'ComputeStacks surface cost' };
  if (await compareWithNative(labels, { url: urls.native, headers: native }, { url: urls.computestacks, headers: computestacks })) failed = true;
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await nimbus.stop();
}
process.exit(failed ? 1 : 0);
