import { spawn } from 'node:child_process';

/** A host command that exited badly; the message carries its stderr so the cause is visible. */
export class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RunOptions {
  /** Written to the command's stdin (`ip -batch -`); stdin is empty otherwise. */
  input?: string;
  /** Exit codes that count as success (default: only 0). */
  okCodes?: readonly number[];
  /** Killed (SIGKILL) after this long; a hung `mount` or `runc` must not hang a task forever. */
  timeoutMs?: number;
  /** Where the command's stdout and stderr go when it must not be tied to our pipes. */
  outputFd?: number;
  /** Start it in its own process group, so a signal to ours does not reach it. */
  detached?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** Runs a program without a shell and collects its output; fails with `CommandFailed`. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const okCodes = options.okCodes ?? [0];
  const shown = `${command} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const output = options.outputFd;
    const child = spawn(command, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', output === undefined ? 'pipe' : output, output === undefined ? 'pipe' : output],
      detached: options.detached ?? false,
    });
    child.stdin?.on('error', () => undefined).end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const reason = error.code === 'ENOENT' ? `${command} is not installed (not found on PATH)` : error.message;
      reject(new CommandFailed(command, args, null, '', `${shown}: ${reason}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exitCode = code ?? 128;
      if (!timedOut && signal === null && okCodes.includes(exitCode)) {
        resolve({ stdout, stderr, exitCode });
        return;
      }
      const why = timedOut ? 'timed out' : signal ? `killed by ${signal}` : `exit ${exitCode}`;
      const detail = (stderr.trim() || stdout.trim()).slice(0, 2000);
      reject(new CommandFailed(command, args, code, stderr, `${shown} failed (${why})${detail ? `: ${detail}` : ''}`));
    });
  });
}

/** Runs a command and reports only whether it succeeded (probes such as "does this link exist"). */
export async function succeeds(command: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(command, args);
    return true;
  } catch (error) {
    if (error instanceof CommandFailed) return false;
    throw error;
  }
}
