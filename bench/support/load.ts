import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { cpuMs } from './processes.ts';

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** CPU time the processes `cpuOf` spent per request of the measured run, in microseconds. */
  cpuUsPerRequest?: number;
}

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  connections?: number;
  durationSeconds?: number;
  method?: 'GET' | 'POST';
  body?: string;
  /** A process (all its threads) whose CPU time per request is measured: unlike the rate, it hardly moves with the machine's load. */
  cpuOf?: number | number[];
}

/** The `p`th percentile (nearest rank) of some values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The load generator: Debian's `wrk` when it is installed, else autocannon (an npm package,
 * always there); `BENCH_LOADER=wrk|autocannon` chooses. On two cores the generator shares the
 * CPU with what it measures: autocannon spends about 30-70 us of it per request, wrk a fraction
 * of that, so wrk leaves more of the machine to the servers (and a proxy's cost weighs as
 * plainly as it would against clients elsewhere).
 */
export const LOADER: 'wrk' | 'autocannon' = process.env.BENCH_LOADER === 'autocannon' ? 'autocannon' : process.env.BENCH_LOADER === 'wrk' || !spawnSync('wrk', ['--version']).error ? 'wrk' : 'autocannon';

type Run = { requestsPerSecond: number; requests: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number };
type RunOptions = Required<Pick<LoadOptions, 'url' | 'headers' | 'connections' | 'method'>> & { body?: string; seconds: number };

async function autocannonRun({ url, headers, connections, method, body, seconds }: RunOptions): Promise<Run> {
  const result = await autocannon({ url, headers, connections, method, body, duration: seconds });
  return { requestsPerSecond: Math.round(result.requests.average), requests: result.requests.total, p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

const execFileAsync = promisify(execFile);
const WRK_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** wrk with 2 threads (at most one per connection); method and body through a Lua script. */
async function wrkRun({ url, headers, connections, method, body, seconds }: RunOptions): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-'));
  try {
    const script = path.join(dir, 'request.lua');
    fs.writeFileSync(script, `wrk.method = ${JSON.stringify(method)}\n${body === undefined ? '' : `wrk.body = ${JSON.stringify(body)}\n`}`);
    // wrk adds its own `Host` unless one is given under exactly that name.
    const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name.toLowerCase() === 'host' ? 'Host' : name}: ${value}`]);
    const { stdout } = await execFileAsync('wrk', ['-t', String(Math.min(2, connections)), '-c', String(connections), '-d', `${seconds}s`, '--latency', '-s', script, ...headerArgs, url]);
    const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? 0);
    const latency = (p: number) => {
      const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(stdout);
      if (!match) throw new Error(`wrk printed no ${p}% latency:\n${stdout}`);
      return Math.round(Number(match[1]) * WRK_UNITS[match[2]!]! * 1000) / 1000;
    };
    const requests = number(/^\s*(\d+) requests in/m);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    return {
      requestsPerSecond: Math.round(number(/^Requests\/sec:\s+([\d.]+)/m)),
      requests,
      p50Ms: latency(50),
      p99Ms: latency(99),
      errors: socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
      non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads one URL (with `LOADER`): a short warm-up (JIT, caches), then the measured run. */
export async function load({ url, headers = {}, connections = 10, durationSeconds = 8, method = 'GET', body, cpuOf }: LoadOptions): Promise<LoadFigures> {
  const run = LOADER === 'wrk' ? wrkRun : autocannonRun;
  await run({ url, headers, connections, method, body, seconds: 2 });
  const cpuOfAll = () => [cpuOf ?? []].flat().reduce((sum, pid) => sum + cpuMs(pid), 0);
  const cpuBefore = cpuOfAll();
  const result = await run({ url, headers, connections, method, body, seconds: durationSeconds });
  const cpuUsPerRequest = cpuOf === undefined ? undefined : Math.round(((cpuOfAll() - cpuBefore) * 1000) / result.requests);
  return { requestsPerSecond: result.requestsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms, errors: result.errors, non2xx: result.non2xx, cpuUsPerRequest };
}

/**
 * Loads each target in turn, `rounds` times over, so that a change of the machine's load (on a
 * shared machine, figures of one run can be a fifth apart) weighs on every target alike. Each
 * target's figures are those of its median round by rate; `runs` has every round.
 */
export async function alternatedRounds<Name extends string>(targets: Record<Name, LoadOptions>, rounds: number): Promise<{ medians: Record<Name, LoadFigures>; runs: Record<Name, LoadFigures[]> }> {
  const names = Object.keys(targets) as Name[];
  const runs = Object.fromEntries(names.map((name) => [name, [] as LoadFigures[]])) as Record<Name, LoadFigures[]>;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) runs[name].push(await load(targets[name]));
  }
  const median = (name: Name): LoadFigures => {
    const rate = percentile(runs[name].map((f) => f.requestsPerSecond), 50);
    return runs[name].find((f) => f.requestsPerSecond === rate)!;
  };
  return { medians: Object.fromEntries(names.map((name) => [name, median(name)])) as Record<Name, LoadFigures>, runs };
}
