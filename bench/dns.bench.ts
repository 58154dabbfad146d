// DNS: cached answers per second and p99 latency of Nimbus's authoritative server, measured with
// dnsperf against NSD (Debian's `nsd`) serving the same zone (exported from Nimbus) in the same run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeDnsPort } from '../test/support/dns.ts';
import { percent, reportGoal } from './support/goals.ts';
import { percentile } from './support/load.ts';
import { startNimbus, stop } from './support/processes.ts';

const DURATION_SECONDS = Number(process.env.BENCH_DNS_SECONDS ?? 8);
const ZONE = 'bench.test';
/** Target: Nimbus answers at least this share of NSD's rate. */
const TARGET_RATIO = 0.5;

function missing(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0;
}

for (const tool of ['dnsperf', 'nsd']) {
  if (missing(tool)) {
    console.log(`dns bench skipped: needs ${tool} (apt-get install ${tool})`);
    process.exit(0);
  }
}

interface Figures {
  qps: number;
  p99Ms: number;
  lost: number;
}

/** dnsperf for DURATION_SECONDS against 127.0.0.1:port; every answer's latency read from its verbose lines. */
function measure(port: number, queries: string): Figures {
  const run = spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queries, '-l', String(DURATION_SECONDS), '-c', '4', '-q', '64', '-v'], { encoding: 'utf8', maxBuffer: 1024 ** 3 });
  if (run.status !== 0) throw new Error(`dnsperf failed: ${run.stderr}`);
  const latencies = [...run.stdout.matchAll(/^> \w+ .* ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(run.stdout)?.[1]);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(run.stdout)?.[1] ?? 0);
  return { qps, p99Ms: percentile(latencies, 99), lost };
}

async function startNsd(dir: string, port: number): Promise<ChildProcess> {
  fs.writeFileSync(
    path.join(dir, 'nsd.conf'),
    [
      'server:',
      `  ip-address: 127.0.0.1@${port}`,
      `  port: ${port}`,
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      `  pidfile: "${dir}/nsd.pid"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  zonelistfile: "${dir}/zone.list"`,
      '  database: ""',
      '  server-count: 1',
      '  verbosity: 0',
      // Response rate limiting would cap one client's rate: this measures answering, not abuse defences.
      '  rrl-ratelimit: 0',
      'remote-control:',
      '  control-enable: no',
      'zone:',
      `  name: ${ZONE}`,
      `  zonefile: "${dir}/${ZONE}.zone"`,
      '',
    ].join('\n'),
  );
  const child = spawn('nsd', ['-d', '-c', path.join(dir, 'nsd.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  // NSD answers once it has read the zone.
  for (let i = 0; i < 100; i++) {
    if (spawnSync('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', `www.${ZONE}`, 'A']).stdout.toString().trim()) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('nsd did not answer');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-dns-bench-'));
const nimbusPort = await freeDnsPort();
const nimbus = await startNimbus({ NIMBUS_DNS_PORT: String(nimbusPort), NIMBUS_DNS_NAMESERVERS: `ns1.${ZONE}` });
let nsd: ChildProcess | null = null;
try {
  const api = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${nimbus.baseUrl}${url}`, { method, headers: { authorization: `token="${nimbus.token}"`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
    return response;
  };
  const zone = (await (await api('POST', '/api/dns/zones/', { name: ZONE })).json()) as { id: string };
  const records = [
    { name: 'ns1', type: 'A', ip: '192.0.2.53' },
    { name: '@', type: 'MX', priority: 10, hostname: 'mail' },
    { name: 'mail', type: 'A', ip: '192.0.2.25' },
    { name: '@', type: 'TXT', value: 'v=spf1 mx -all' },
    { name: '*.apps', type: 'A', ip: '192.0.2.80' },
    ...Array.from({ length: 200 }, (_, i) => ({ name: i === 0 ? 'www' : `host${i}`, type: 'A', ip: `198.51.100.${i % 250}` })),
  ];
  await api('PUT', `/api/dns/zones/${zone.id}/records/`, { records });
  fs.writeFileSync(path.join(dir, `${ZONE}.zone`), await (await api('GET', `/api/dns/zones/${zone.id}/export/`)).text());
  const queries = path.join(dir, 'queries.txt');
  const names = [`www.${ZONE} A`, `${ZONE} MX`, `${ZONE} TXT`, `host17.${ZONE} A`, `x.apps.${ZONE} A`, `missing.${ZONE} A`, `mail.${ZONE} AAAA`, `${ZONE} SOA`];
  fs.writeFileSync(queries, `${names.join('\n')}\n`);

  const nsdPort = await freeDnsPort();
  nsd = await startNsd(dir, nsdPort);
  // Warm-up: every answer cached, the JIT warm.
  measureQuietly(nimbusPort, queries);
  const ours = measure(nimbusPort, queries);
  const reference = measure(nsdPort, queries);
  const ratio = ours.qps / reference.qps;
  console.log(`dns: ${DURATION_SECONDS} s of dnsperf (4 clients, 64 outstanding, UDP) over ${names.length} names (answers, wildcard, NXDOMAIN, NODATA)`);
  console.log(`  nimbus  ${Math.round(ours.qps)} queries/s, p99 ${ours.p99Ms.toFixed(2)} ms, lost ${ours.lost}`);
  console.log(`  nsd     ${Math.round(reference.qps)} queries/s, p99 ${reference.p99Ms.toFixed(2)} ms, lost ${reference.lost}`);
  reportGoal({ bench: 'dns', figure: 'authoritative DNS vs NSD', measured: `${Math.round(ours.qps)} vs ${Math.round(reference.qps)} queries/s: ${percent(ratio)}`, goal: `≥ ${percent(TARGET_RATIO)}`, met: ratio >= TARGET_RATIO });
  if (!ours.qps || !reference.qps) process.exitCode = 1;
} finally {
  if (nsd) await stop(nsd);
  await nimbus.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

function measureQuietly(port: number, queries: string): void {
  spawnSync('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queries, '-l', '2', '-c', '4', '-q', '64'], { encoding: 'utf8' });
}
