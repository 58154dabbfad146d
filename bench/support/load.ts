import autocannon from 'autocannon';
import { cpuMs } from './processes.ts';

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  /** CPU time the process `cpuOf` spent per request of the measured run, in microseconds. */
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
  cpuOf?: number;
}

/** The `p`th percentile (nearest rank) of some values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Loads one URL with autocannon: a short warm-up (JIT, caches), then the measured run. */
export async function load({ url, headers = {}, connections = 10, durationSeconds = 8, method = 'GET', body, cpuOf }: LoadOptions): Promise<LoadFigures> {
  await autocannon({ url, headers, connections, method, body, duration: 2 });
  const cpuBefore = cpuOf === undefined ? 0 : cpuMs(cpuOf);
  const result = await autocannon({ url, headers, connections, method, body, duration: durationSeconds });
  const cpuUsPerRequest = cpuOf === undefined ? undefined : Math.round(((cpuMs(cpuOf) - cpuBefore) * 1000) / result.requests.total);
  return { requestsPerSecond: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx, cpuUsPerRequest };
}
