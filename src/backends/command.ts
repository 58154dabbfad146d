import { spawner } from './spawner/spawner.ts';

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
  /** A file the command's stdout and stderr are appended to, when they must not be tied to a pipe. */
  outputFile?: string;
  /** Start it in its own process group. */
  detached?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** Runs a program without a shell and collects its output; fails with `CommandFailed`. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const okCodes = options.okCodes ?? [0];
  const shown = `${command} ${args.join(' ')}`;
  const reply = await spawner.run({
    command,
    args: [...args],
    input: options.input,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    outputFile: options.outputFile,
    detached: options.detached,
  });
  if (reply.spawnError) {
    const reason = reply.spawnError.code === 'ENOENT' ? `${command} is not installed (not found on PATH)` : reply.spawnError.message;
    throw new CommandFailed(command, args, null, '', `${shown}: ${reason}`);
  }
  const exitCode = reply.code ?? 128;
  if (!reply.timedOut && reply.signal === null && okCodes.includes(exitCode)) return { stdout: reply.stdout, stderr: reply.stderr, exitCode };
  const why = reply.timedOut ? 'timed out' : reply.signal ? `killed by ${reply.signal}` : `exit ${exitCode}`;
  const detail = (reply.stderr.trim() || reply.stdout.trim()).slice(0, 2000);
  throw new CommandFailed(command, args, reply.code, reply.stderr, `${shown} failed (${why})${detail ? `: ${detail}` : ''}`);
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
