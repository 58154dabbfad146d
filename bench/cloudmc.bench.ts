// CloudMC benchmark: the instance list through the CloudMC surface against the native server
// list it translates, same server, same data, same run.
//   npm run bench cloudmc        (needs root and runc: the servers are real, created stopped)
// Env: BENCH_INSTANCES (default 20).
// Prints req/s and p99 of `GET /compat/cloudmc/api/v2/services/compute/bench/instances`
// (MC-Api-Key) and of `GET /api/servers/servers/?environment=<id>&page_size=<n>` (API token),
// each measured twice, alternating, and what the surface costs (target: under 15%).
import { startComputeNimbus } from './support/compute.ts';
import { load, type LoadFigures } from './support/load.ts';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 20);
const TARGET_COST = 0.15;

const compute = await startComputeNimbus('cloudmc', { NIMBUS_NETWORK_RANGE: '10.197.0.0/16' });
const { api, nimbus } = compute;

let failed = false;
try {
  const environment = await api('POST', '/api/iam/environments/', { name: 'bench', service_connection: '00000000-0000-4000-8000-00000000c0de' });
  const key = (await api('POST', '/api/auth/api-key/')).key as string;
  const created = [];
  for (let i = 0; i < INSTANCES; i++) created.push(await api('POST', '/api/servers/servers/', { name: `bench-${i}`, environment: environment.id }));
  for (const server of created) {
    const task = await api('GET', `/api/tasks/tasks/${server.task}/wait/?timeout=120`);
    if (task.status !== 'succeeded') throw new Error(`server ${server.name}: ${JSON.stringify(task.error)}`);
  }

  const native = { url: `${nimbus.baseUrl}/api/servers/servers/?environment=${environment.id}&page_size=${INSTANCES}`, headers: { authorization: `token="${nimbus.token}"` } };
  const cloudmc = { url: `${nimbus.baseUrl}/compat/cloudmc/api/v2/services/compute/bench/instances`, headers: { 'mc-api-key': key } };
  const [nativePage, cloudmcList] = [await (await fetch(native.url, { headers: native.headers })).json(), await (await fetch(cloudmc.url, { headers: cloudmc.headers })).json()];
  if (nativePage.results?.length !== INSTANCES || cloudmcList.data?.length !== INSTANCES) throw new Error(`expected ${INSTANCES} servers both ways, got ${nativePage.results?.length} and ${cloudmcList.data?.length}`);

  const rounds: { native: LoadFigures; cloudmc: LoadFigures }[] = [];
  for (let round = 0; round < 2; round++) rounds.push({ native: await load(native), cloudmc: await load(cloudmc) });
  const total = (side: 'native' | 'cloudmc') => rounds.reduce((sum, r) => sum + r[side].requestsPerSecond, 0);
  const cost = 1 - total('cloudmc') / total('native');

  const row = (name: string, f: LoadFigures) => `  ${name.padEnd(44)} ${String(f.requestsPerSecond).padStart(7)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   errors ${f.errors + f.non2xx}`;
  console.log(`cloudmc: a list of ${INSTANCES} instances (SQLite), alternating, two rounds`);
  rounds.forEach((r, i) => {
    console.log(row(`native GET /api/servers/servers/ (round ${i + 1})`, r.native));
    console.log(row(`CloudMC GET .../compute/bench/instances (round ${i + 1})`, r.cloudmc));
  });
  console.log(`  CloudMC surface cost: ${(cost * 100).toFixed(1)}% of the native rate (target: under ${TARGET_COST * 100}%) ${cost < TARGET_COST ? 'met' : 'MISSED'}`);
  if (rounds.some((r) => r.native.errors + r.native.non2xx + r.cloudmc.errors + r.cloudmc.non2xx > 0)) failed = true;
  for (const server of created) await api('DELETE', `/api/servers/servers/${server.id}/`);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await compute.stop();
}
process.exit(failed ? 1 : 0);
