import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Rate limits still run on every request, but with limits no benchmark load reaches. */
export const BENCH_RATE_LIMIT = 1_000_000_000;
/** `BENCH_RATE_LIMIT` as the environment of a `nimbus serve` process. */
export const BENCH_RATE_LIMIT_ENV = { NIMBUS_RATE_LIMIT: String(BENCH_RATE_LIMIT), NIMBUS_RATE_LIMIT_ANONYMOUS: String(BENCH_RATE_LIMIT) };

/** A port nobody listens on right now (the OS picks it; we release it for the server). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Resident set size of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return Math.round((kib / 1024) * 10) / 10;
}

/**
 * RSS once the process has been idle a while: V8 hands back its young generation's space and
 * compacts the rest some 15-35 s after the last activity. Samples every second, for at most
 * `maxSeconds`; stops once the figure has dropped and then held for 5 s. The last sample, and
 * after how long.
 */
export async function settledRssMiB(pid: number, maxSeconds = 60): Promise<{ mib: number; seconds: number }> {
  const first = rssMiB(pid);
  let last = first;
  let steady = 0;
  for (let second = 1; second <= maxSeconds; second++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = rssMiB(pid);
    steady = Math.abs(now - last) < 0.5 ? steady + 1 : 0;
    last = now;
    if (first - now >= 5 && steady >= 5) return { mib: now, seconds: second };
  }
  return { mib: last, seconds: maxSeconds };
}

/** CPU time (user and system, every thread) a process has used so far, in ms, from /proc (ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export interface NimbusProcess {
  child: ChildProcess;
  baseUrl: string;
  token: string;
  stop(): Promise<void>;
}

/** The real `nimbus serve` on a fresh data directory and a free port; resolves once it has printed its token. */
export async function startNimbus(env: Record<string, string> = {}): Promise<NimbusProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-'));
  const port = await freePort();
  // BENCH_CPU_PROFILE_DIR: V8 CPU profiles of nimbus serve (one per thread) are written there when it stops.
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROFILE_DIR] : [];
  const child = spawn(process.execPath, [...profile, path.join(repositoryRoot, 'bin/nimbus.js'), 'serve', '--port', String(port), '--data-dir', dataDir], {
    env: { ...process.env, NIMBUS_LOG_LEVEL: 'warn', NIMBUS_DNS_PORT: '0', ...BENCH_RATE_LIMIT_ENV, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const token = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += String(chunk);
      const match = /admin API token: (\S+)\n/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`nimbus exited with ${code} before printing its token:\n${output}`)));
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/healthz`);
  return {
    child,
    baseUrl,
    token,
    async stop() {
      await stop(child);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The bare Fastify baseline (bench/support/bare-server.ts) in its own process. */
export async function startBareServer(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repositoryRoot, 'bench/support/bare-server.ts'), String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/bare/`);
  return { child, url };
}

/** A bare TCP relay (bench/support/tcp-relay.ts) to `host:port` in its own process; resolves once it accepts connections. */
export async function startTcpRelay(host: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const listenPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repositoryRoot, 'bench/support/tcp-relay.ts'), String(listenPort), host, String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForHttp(`http://127.0.0.1:${listenPort}/`);
  return { child, port: listenPort };
}
