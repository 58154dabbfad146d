import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { ComputeRejected, type ExecRequest, type ExecResult } from '../compute-host.ts';
import { resolveInRoot } from '../rootfs-path.ts';
import type { Runc } from './runtime.ts';
import { resolveExecUser, type ExecUser } from './users.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** After the shell exits, how long output still held open by its background children is read. */
const DRAIN_MS = 500;

/**
 * The shell merges stderr into stdout itself (`exec 2>&1`), so both arrive on one pipe in the
 * order they were written; the line is then evaluated, so even a syntax error in it is output.
 */
const SHELL_WRAPPER = 'exec 2>&1; eval "$1"';

export interface ExecTarget {
  runc: Runc;
  containerId: string;
  /** The server's merged root filesystem on the host (for /etc/passwd). */
  rootfs: string;
  /** Where runc writes the pid of the command, to kill it on abort. */
  scratchDir: string;
}

async function isDirectoryInRoot(rootfs: string, inside: string): Promise<boolean> {
  try {
    return (await lstat(await resolveInRoot(rootfs, inside, { followLast: true }))).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Kills the command (and its process group, when it leads one) on the host, by the pid runc
 * wrote; an abort right after the start waits a moment for that file to appear.
 */
export async function killCommand(pidFile: string, isOver: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 40 && !isOver(); attempt++) {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 1) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // Already gone, or not a process group leader.
        }
      }
      return;
    }
    await sleep(50);
  }
}

/** Refuses environment variables runc would mangle or the shell could not hold. */
export function checkEnv(env: Record<string, string>): [string, string][] {
  const entries = Object.entries(env);
  for (const [name, value] of entries) {
    if (!ENV_NAME.test(name)) throw new ComputeRejected(`environment variable name ${JSON.stringify(name)} is not valid`, 'env');
    if (value.includes('\0')) throw new ComputeRejected(`environment variable ${name} contains a NUL byte`, 'env');
  }
  return entries;
}

/**
 * The `runc exec` arguments that run `command` in the server as `user` (from its own accounts),
 * in the user's home when it is a directory there, with `env`; runc writes the process's pid
 * (as the host sees it) to `pidFile`.
 */
export async function execArguments(
  target: ExecTarget,
  user: ExecUser,
  options: { pidFile: string; env: [string, string][]; tty?: boolean; command: string[] },
): Promise<string[]> {
  const cwd = (await isDirectoryInRoot(target.rootfs, user.home)) ? user.home : '/';
  return [
    '--root', target.runc.stateDir, 'exec',
    ...(options.tty ? ['--tty'] : []),
    '--user', `${user.uid}:${user.gid}`,
    ...user.additionalGids.flatMap((gid) => ['--additional-gids', String(gid)]),
    '--cwd', cwd,
    '--pid-file', options.pidFile,
    '--env', `HOME=${user.home}`, '--env', `USER=${user.name}`, '--env', `LOGNAME=${user.name}`,
    ...options.env.flatMap(([name, value]) => ['--env', `${name}=${value}`]),
    target.containerId,
    ...options.command,
  ];
}

/** A fresh pid file path in the server's scratch directory. */
export const pidFileIn = (scratchDir: string, kind: string) => path.join(scratchDir, `${kind}-${randomBytes(6).toString('hex')}.pid`);

/** Runs a shell line in a running server with `runc exec`, streaming its output in order. */
export async function execInContainer(target: ExecTarget, request: ExecRequest): Promise<ExecResult> {
  const env = checkEnv(request.env ?? {});
  const user = await resolveExecUser(target.rootfs, request.username, request.groupname);
  const pidFile = pidFileIn(target.scratchDir, 'exec');
  const args = await execArguments(target, user, { pidFile, env, command: ['/bin/sh', '-c', SHELL_WRAPPER, 'sh', request.line] });
  request.signal?.throwIfAborted();

  const started = performance.now();
  const child = spawn(target.runc.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let delivered: Promise<void> = Promise.resolve();
  let outputError: unknown;
  let exited = false;
  const onAbort = () => void killCommand(pidFile, () => exited);

  const pump = (stream: Readable) => {
    const decoder = new StringDecoder('utf8');
    const deliver = (text: string) => {
      if (!text) return;
      // One chunk at a time, in arrival order. The pipe is read eagerly (not paused for a slow
      // consumer) so that once the shell exits, whatever it wrote is already ours.
      delivered = delivered
        .then(() => (outputError === undefined ? request.onOutput(text) : undefined))
        .catch((error: unknown) => {
          outputError ??= error;
          onAbort();
        });
    };
    stream.on('data', (chunk: Buffer) => deliver(decoder.write(chunk)));
    const ended = new Promise<void>((resolve) => stream.once('close', resolve));
    return ended.then(() => deliver(decoder.end()));
  };

  try {
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const streams = [pump(child.stdout), pump(child.stderr)];
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        exited = true;
        resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
      });
    });
    // A background child of the line may hold the pipe open for ever; the command is over.
    await Promise.race([Promise.all(streams), sleep(DRAIN_MS)]);
    child.stdout.destroy();
    child.stderr.destroy();
    await Promise.all(streams);
    await delivered;
    if (outputError !== undefined) throw outputError;
    return { exitCode, elapsedMs: Math.round(performance.now() - started) };
  } finally {
    request.signal?.removeEventListener('abort', onAbort);
    await rm(pidFile, { force: true });
  }
}
