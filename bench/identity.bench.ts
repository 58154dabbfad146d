// Identity benchmark: one authenticated route (GET /api/status/) with an API token and with a
// bearer JWT exchanged from it, against a bare Fastify route answering the same shape; and
// password logins (Argon2id-bound). Target: token-authenticated requests at least half the bare
// route's rate (the auth path is cached and writes nothing per request).
import os from 'node:os';
import autocannon from 'autocannon';
import { percent, reportGoal } from './support/goals.ts';
import { load, type LoadFigures } from './support/load.ts';
import { startBareServer, startNimbus, stop } from './support/processes.ts';

const ADMIN_PASSWORD = 'bench-lantern-orchard-77';
const TARGET_RATIO = 0.5;

const nimbus = await startNimbus({ NIMBUS_ADMIN_PASSWORD: ADMIN_PASSWORD });
const bare = await startBareServer();
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
  for (const headers of [tokenHeaders, bearerHeaders]) await autocannon({ url: statusUrl, headers, connections: 10, duration: 4 });
  const bareFigures = await load({ url: `${bare.url}/bare/status/` });
  const tokenFigures = await load({ url: statusUrl, headers: tokenHeaders });
  const bearerFigures = await load({ url: statusUrl, headers: bearerHeaders });
  // Each login hashes with Argon2id (19 MiB, t=2): a few connections saturate the CPUs.
  const loginFigures = await load({
    url: `${nimbus.baseUrl}/api/auth/login/`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    connections: 4,
  });

  const row = (name: string, f: LoadFigures) =>
    `  ${name.padEnd(44)} ${String(f.requestsPerSecond).padStart(8)} req/s   p99 ${String(f.p99Ms).padStart(4)} ms   errors ${f.errors + f.non2xx}`;
  const ratio = tokenFigures.requestsPerSecond / bareFigures.requestsPerSecond;
  console.log(`identity (SQLite, ${os.cpus().length} CPUs)`);
  console.log(row('bare Fastify route (status-shaped JSON)', bareFigures));
  console.log(row('GET /api/status/ with an API token', tokenFigures));
  console.log(row('GET /api/status/ with a bearer JWT', bearerFigures));
  console.log(row('POST /api/auth/login/ (Argon2id)', loginFigures));
  reportGoal({ bench: 'identity', figure: 'GET /api/status/ with an API token vs a bare route', measured: `${tokenFigures.requestsPerSecond} vs ${bareFigures.requestsPerSecond} req/s: ${percent(ratio)}`, goal: `≥ ${percent(TARGET_RATIO)}`, met: ratio >= TARGET_RATIO });
  if ([tokenFigures, bearerFigures, loginFigures].some((f) => f.errors + f.non2xx > 0)) process.exitCode = 1;
} finally {
  await nimbus.stop();
  await stop(bare.child);
}
