// CloudMC benchmark: the instance list through the CloudMC surface against the native server
// list it translates, same server, same data, same run.
//   npm run bench cloudmc        (needs root and runc: the servers are real, created stopped)
// Env: BENCH_INSTANCES (default 20).
// Prints req/s and p99 of `GET /compat/cloudmc/api/v2/services/compute/bench/instances`
// (MC-Api-Key) and of `GET /api/servers/servers/?environment=<id>&page_size=<n>` (API token),
// each measured twice, alternating, and what the surface costs (target: under 15%).
import { startComputeNimbus } from './support/compute.ts';
import { compareWithNative } from './support/surface-cost.ts';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 20);

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

  console.log(`cloudmc: a list of ${INSTANCES} instances (SQLite), alternating, two rounds`);
  const labels = { bench: 'cloudmc', native: 'native GET /api/servers/servers/', surface: 'CloudMC GET .../compute/bench/instances', cost: 'CloudMC surface cost' };
  if (await compareWithNative(labels, native, cloudmc)) failed = true;
  for (const server of created) await api('DELETE', `/api/servers/servers/${server.id}/`);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await compute.stop();
}
process.exit(failed ? 1 : 0);
