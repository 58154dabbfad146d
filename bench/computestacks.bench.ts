// ComputeStacks benchmark: the project list through the ComputeStacks surface against the native
// projects route it translates, same server, same data, same run.
//   npm run bench computestacks
// Env: BENCH_PROJECTS (default 20).
// Prints req/s and p99 of `GET /compat/computestacks/api/projects?per_page=<n>` (HTTP Basic with
// API credentials) and of `GET /api/projects/projects/?page_size=<n>` (API token), each measured
// twice, alternating, and what the surface costs (target: under 15%).
import { jsonCaller } from './support/api.ts';
import { load, type LoadFigures } from './support/load.ts';
import { startNimbus } from './support/processes.ts';

const PROJECTS = Number(process.env.BENCH_PROJECTS ?? 20);
const TARGET_COST = 0.15;

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

  const row = (name: string, f: LoadFigures) => `  ${name.padEnd(40)} ${String(f.requestsPerSecond).padStart(7)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   errors ${f.errors + f.non2xx}`;
  console.log(`computestacks: ${PROJECTS} projects (SQLite), alternating, two rounds`);
  const rounds: { native: LoadFigures; computestacks: LoadFigures }[] = [];
  for (let round = 0; round < 2; round++) {
    rounds.push({ native: await load({ url: urls.native, headers: native }), computestacks: await load({ url: urls.computestacks, headers: computestacks }) });
  }
  const total = (side: 'native' | 'computestacks') => rounds.reduce((sum, r) => sum + r[side].requestsPerSecond, 0);
  const cost = 1 - total('computestacks') / total('native');
  rounds.forEach((r, i) => {
    console.log(row(`native project list (round ${i + 1})`, r.native));
    console.log(row(`ComputeStacks project list (round ${i + 1})`, r.computestacks));
  });
  console.log(`  ComputeStacks surface cost: ${(cost * 100).toFixed(1)}% of the native rate (target: under ${TARGET_COST * 100}%) ${cost < TARGET_COST ? 'met' : 'MISSED'}`);
  if (rounds.some((r) => r.native.errors + r.native.non2xx + r.computestacks.errors + r.computestacks.non2xx > 0)) failed = true;
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await nimbus.stop();
}
process.exit(failed ? 1 : 0);
