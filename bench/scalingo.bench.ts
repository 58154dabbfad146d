// Scalingo benchmark: the app list and an app through the Scalingo surface against the native
// apps routes they translate, same server, same data, same run.
//   npm run bench scalingo
// Env: BENCH_APPS (default 20).
// Prints req/s and p99 of `GET /compat/scalingo/v1/apps` and `GET /compat/scalingo/v1/apps/<name>`
// (the exchanged JWT as Bearer) and of `GET /api/apps/apps/?page_size=<n>` and
// `GET /api/apps/apps/<name>/` (API token), each measured twice, alternating, and what the
// surface costs (target: under 15%).
import { jsonCaller } from './support/api.ts';
import { startNimbus } from './support/processes.ts';
import { compareWithNative } from './support/surface-cost.ts';

const APPS = Number(process.env.BENCH_APPS ?? 20);

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
  console.log(`scalingo: ${APPS} apps (SQLite), alternating, two rounds`);
  for (const [what, pair] of Object.entries(pairs)) {
    const labels = { bench: 'scalingo', native: `native ${what}`, surface: `Scalingo ${what}`, cost: `Scalingo surface cost (${what})` };
    if (await compareWithNative(labels, pair.native, pair.scalingo)) failed = true;
  }
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await nimbus.stop();
}
process.exit(failed ? 1 : 0);
