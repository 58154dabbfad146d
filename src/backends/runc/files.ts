import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ComputeRejected, type FileReadRequest, type FileWriteRequest, type TreeReadRequest } from '../compute-host.ts';
import { execArguments, killCommand, pidFileIn, type ExecTarget } from './exec.ts';
import { resolveExecUser } from './users.ts';

/** What a transfer's shell says when it fails, at most. */
const MESSAGE_LIMIT = 2048;

/**
 * Writes stdin to the target as the user, inside the server: to a temporary name beside it,
 * renamed over the target (COMMIT_SCRIPT) only once the host saw the whole content go in, so
 * a transfer cut short leaves nothing (its end of input looks like any other to `cat`). The
 * target is `$1`, or `$1/$2` when `$1` names a directory (or ends with `/`); `$3` = 1 allows
 * replacing an existing file. Paths resolve in the server, as its own processes see them: a
 * symlink or `..` in the server can never lead to the host's files.
 */
const RESOLVE_TARGET = ['t=$1', 'case $t in */) t=$t$2 ;; *) if [ -d "$t" ]; then t=$t/$2; fi ;; esac'];
const partial = 'p=$t.nimbus-upload-$4';
const WRITE_SCRIPT = [
  ...RESOLVE_TARGET,
  'if [ -d "$t" ]; then echo "$t is a directory" >&2; exit 21; fi',
  'if [ "$3" != 1 ] && [ -e "$t" ]; then echo "$t already exists" >&2; exit 17; fi',
  partial,
  'cat > "$p" || { rm -f "$p"; exit 1; }',
].join('\n');
/** Once the whole content was written (same arguments): the temporary file becomes the target. */
const COMMIT_SCRIPT = [...RESOLVE_TARGET, partial, 'mv -f "$p" "$t" || { rm -f "$p"; exit 1; }', 'printf %s "$t"'].join('\n');
/** Removes what a write that was stopped half-way left (same arguments). */
const CLEANUP_SCRIPT = [...RESOLVE_TARGET, partial, 'rm -f "$p"'].join('\n');

/** Prints a regular file as the user, inside the server; anything else is refused with why. */
const READ_SCRIPT = [
  'if [ -d "$1" ]; then echo "$1 is a directory" >&2; exit 21; fi',
  'if [ ! -f "$1" ]; then echo "$1 is not a file" >&2; exit 2; fi',
  'exec cat -- "$1"',
].join('\n');

/**
 * Archives a file or a directory (with everything under it) as the user, inside the server, as
 * a tar stream whose entries start with its base name. tar runs in the server, so every path
 * resolves there; symbolic links are archived as links, never followed.
 */
const TREE_SCRIPT = [
  'if [ ! -e "$1" ]; then echo "$1 does not exist" >&2; exit 2; fi',
  'cd "$(dirname "$1")" || exit 1',
  'exec tar -c -f - "./$(basename "$1")"',
].join('\n');

interface Run {
  stdout: Readable;
  /** The end of what the shell wrote on stderr. */
  stderr(): string;
  exited: Promise<number>;
  kill(): Promise<void>;
}

async function runScript(target: ExecTarget, request: { username?: string; groupname?: string }, script: string, args: string[], stdin: 'pipe' | 'ignore'): Promise<Run & { stdin: NodeJS.WritableStream | null }> {
  const user = await resolveExecUser(target.rootfs, request.username, request.groupname);
  const pidFile = pidFileIn(target.scratchDir, 'transfer');
  const command = await execArguments(target, user, { pidFile, env: [], command: ['/bin/sh', '-c', script, 'sh', ...args] });
  const child = spawn(target.runc.binary, command, { stdio: [stdin, 'pipe', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => void (errors = (errors + chunk.toString('utf8')).slice(-MESSAGE_LIMIT)));
  let over = false;
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      over = true;
      resolve(code ?? 137);
    });
  }).finally(() => rm(pidFile, { force: true }));
  return { stdin: child.stdin, stdout: child.stdout!, stderr: () => errors.trim(), exited, kill: () => killCommand(pidFile, () => over) };
}

/** Counts what passes, and fails the stream once more than `limit` bytes have. */
function capped(limit: number, counted: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counted.bytes += chunk.length;
      if (counted.bytes > limit) done(new ComputeRejected(`the file is larger than the limit of ${limit} bytes`, 'size'));
      else done(null, chunk);
    },
  });
}

/** Streams `source` into a file of the server (see WRITE_SCRIPT); answers where it went and its size. */
export async function writeFileInContainer(target: ExecTarget, request: FileWriteRequest): Promise<{ path: string; bytes: number }> {
  const args = [request.path, request.name, request.overwrite ? '1' : '0', request.transferId];
  const step = async (script: string) => {
    const run = await runScript(target, request, script, args, 'ignore');
    const output: Buffer[] = [];
    run.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    const exitCode = await run.exited;
    return { exitCode, output: Buffer.concat(output).toString('utf8'), message: run.stderr() };
  };
  const run = await runScript(target, request, WRITE_SCRIPT, args, 'pipe');
  run.stdout.resume();
  const counted = { bytes: 0 };
  try {
    await pipeline(request.source, capped(request.maxBytes, counted), run.stdin!);
  } catch (error) {
    // Stopped half-way (too large, or the client went away): nothing of it may stay.
    await run.kill();
    await run.exited;
    await step(CLEANUP_SCRIPT);
    // The shell refusing (permission denied...) ends its input early: its words say why.
    if (!(error instanceof ComputeRejected) && run.stderr()) throw new ComputeRejected(run.stderr(), 'path');
    throw error;
  }
  const exitCode = await run.exited;
  if (exitCode !== 0) throw new ComputeRejected(run.stderr() || `the file could not be written (exit code ${exitCode})`, 'path');
  const committed = await step(COMMIT_SCRIPT);
  if (committed.exitCode !== 0) throw new ComputeRejected(committed.message || `the file could not be written (exit code ${committed.exitCode})`, 'path');
  return { path: committed.output, bytes: counted.bytes };
}

/**
 * A regular file of the server, read as the user, as a stream that fails past `maxBytes`.
 * Resolves once the file's first bytes came (or it was empty); a file that cannot be read is
 * refused with why, before anything is streamed.
 */
export function readFileInContainer(target: ExecTarget, request: FileReadRequest): Promise<Readable> {
  return streamScript(target, request, READ_SCRIPT, [request.path], request.maxBytes, 'the file could not be read');
}

/** A file or directory of the server as a tar stream (see TREE_SCRIPT), refused with why before anything is streamed. */
export function readTreeInContainer(target: ExecTarget, request: TreeReadRequest): Promise<Readable> {
  return streamScript(target, request, TREE_SCRIPT, [request.path], request.maxBytes, 'the path could not be archived');
}

/**
 * What a script prints, as a stream that fails past `maxBytes`, or at its end when the script
 * failed (tar reports a file it could not read only when it exits); resolves with its first bytes.
 */
async function streamScript(target: ExecTarget, request: { username?: string; groupname?: string }, script: string, args: string[], maxBytes: number, failure: string): Promise<Readable> {
  const run = await runScript(target, request, script, args, 'ignore');
  const out = new PassThrough();
  const refused = (code: number) => new ComputeRejected(run.stderr() || `${failure} (exit code ${code})`, 'path');
  const ended = () => run.exited.then((code) => {
    if (code !== 0) throw refused(code);
  });
  // 'readable' comes with the first bytes, or at the end of an empty (or refused) output.
  const started = new Promise<void>((resolve, reject) => {
    run.stdout.once('readable', () => (run.stdout.readableLength > 0 ? resolve() : ended().then(resolve, reject)));
    run.exited.catch(reject);
  });
  await started;
  const cap = capped(maxBytes, { bytes: 0 });
  run.stdout.pipe(cap).pipe(out, { end: false });
  cap.once('error', (error) => {
    void run.kill();
    out.destroy(error);
  });
  // The reader went away: the script stops too.
  out.once('close', () => void (out.writableFinished || run.kill()));
  const drained = new Promise<void>((resolve) => cap.once('end', resolve));
  Promise.all([drained, ended()]).then(() => out.end(), (error: Error) => out.destroy(error));
  return out;
}
