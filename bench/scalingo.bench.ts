// Scalingo benchmark: the app list and an app through the Scalingo surface against the native
// apps routes they translate, same server, same data, same run.
//   npm run bench scalingo
// Env: BENCH_APPS (default 20).
// Prints req/s and p99 of `GET /compat/scalingo/v1/apps` and `GET /compat/scalingo/v1/apps/<name>`
// (the exchanged JWT as Bearer) and of `GET /api/apps/apps/?page_size=<n>` and
// `GET /api/apps/apps/<name>/` (API token), each measured twice, alternating, and what the
// surface costs (target: under 15%).
import { jsonCaller } from './support/api.ts';
import { load, type LoadFigures } from './support/load.ts';
import { startNimbus } from './support/processes.ts';

const APPS = Number(process.env.BENCH_APPS ?? 20);
const TARGET_COST = 0.15;

const nimbus = await startNimbus();
let failed = false;
try {
  const native = { authorization: `token="${nimbus.token}"` };
  const call = jsonCaller(nimbus.baseUrl);
  for (let i = 0; i < APPS; i++) await call('POST', '/api/apps/apps/', native, { name: `bench-app-${String(i).padStart(3, '0')}` });
  const exchange = { authorization: `Basic ${Buffer.from(`:${nimbus.token}`).toString('base64')}` };
  const scalingo = { authorization: `Bearer ${(await call('POST', '/compat/scalingo/v1/tokens/exchange', exchange)).token}` };
  const listed = [(await call('GET', `/api/apps/apps/?page_size=${APPS}`, native)).results?.length, (await call('GET', '/compat/scalingo/v1/apps', scalingo)).apps?.length];
  if (listed.some((n) => n !== APPS)) throw new Error(`expected ${APPS} apps both ways, got ${listed.join(' and ')}`);

  const pairs = {
    list: { native: { url: `${nimbus.baseUrl}/api/apps/apps/?page_size=${APPS}`, headers: native }, scalingo: { url: `${nimbus.baseUrl}/compat/scalingo/v1/apps`, headers: scalingo } },
    show: { native: { url: `${nimbus.baseUrl}/api/apps/apps/bench-app-000/`, headers: native }, scalingo: { url: `${nimbus.baseUrl}/compat/scalingo/v1/apps/bench-app-000`, headers: scalingo } },
  };
  const row = (name: string, f: LoadFigures) => `  ${name.padEnd(44)} ${String(f.requestsPerSecond).padStart(7)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   errors ${f.errors + f.non2xx}`;
  console.log(`scalingo: ${APPS} apps (SQLite), alternating, two rounds`);
  for (const [what, pair] of Object.entries(pairs)) {
    const rounds: { native: LoadFigures; scalingo: LoadFigures }[] = [];
    for (let round = 0; round < 2; round++) rounds.push({ native: await load(pair.native), scalingo: await load(pair.scalingo) });
    const total = (side: 'native' | 'scalingo') => rounds.reduce((sum, r) => sum + r[side].requestsPerSecond, 0);
    const cost = 1 - total('scalingo') / total('native');
    rounds.forEach((r, i) => {
      console.log(row(`native ${what} (round ${i + 1})`, r.native));
      console.log(row(`Scalingo ${what} (round ${i + 1})`, r.scalingo));
    });
    console.log(`  Scalingo surface cost (${what}): ${(cost * 100).toFixed(1)}% of the native rate (target: under ${TARGET_COST * 100}%) ${cost < TARGET_COST ? 'met' : 'MISSED'}`);
    if (rounds.some((r) => r.native.errors + r.native.non2xx + r.scalingo.errors + r.scalingo.non2xx > 0)) failed = true;
  }
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await nimbus.stop();
}
process.exit(failed ? 1 : 0);
