import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const ATTEMPT_TIMEOUT_MS = 1000;

/** One TCP connection attempt to address:port. */
function accepts(address: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: address, port, timeout: ATTEMPT_TIMEOUT_MS });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** One `GET path` to address:port: healthy when it answers 2xx or 3xx. */
function answers(address: string, port: number, path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const request = http.get({ host: address, port, path, timeout: ATTEMPT_TIMEOUT_MS, agent: false, headers: { 'user-agent': 'nimbus-health-check' } }, (response) => {
      response.resume();
      resolve((response.statusCode ?? 500) < 400);
    });
    request.once('error', () => resolve(false));
    request.once('timeout', () => request.destroy());
  });
}

/**
 * Whether a process is healthy, trying until `timeoutMs`: it accepts TCP connections on
 * address:port or, when the app names a health check path, answers `GET <path>` with 2xx or 3xx.
 */
export async function waitForHealthy(address: string, port: number, options: { path?: string | null; timeoutMs: number; signal?: AbortSignal }): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline && !options.signal?.aborted) {
    if (await (options.path ? answers(address, port, options.path) : accepts(address, port))) return true;
    await sleep(100);
  }
  return false;
}
