import { spawn as spawnPty } from '@lydell/node-pty';
import { readdir, readFile, rm } from 'node:fs/promises';
import { ComputeRejected, type Terminal, type TerminalRequest } from '../compute-host.ts';
import { execArguments, pidFileIn, type ExecTarget } from './exec.ts';
import { resolveExecUser } from './users.ts';

/** Terminal sizes a shell is given; outside them a resize is refused rather than passed on. */
export const TERMINAL_LIMITS = { rows: { min: 1, max: 1000 }, cols: { min: 1, max: 1000 } };
/** After a hang-up, how long the shell has to exit before it is killed. */
const HANGUP_GRACE_MS = 1_000;

export function checkTerminalSize(rows: number, cols: number): void {
  for (const [name, value] of [['rows', rows], ['cols', cols]] as const) {
    const { min, max } = TERMINAL_LIMITS[name];
    if (!Number.isInteger(value) || value < min || value > max) throw new ComputeRejected(`${name} must be a whole number from ${min} to ${max}`, name);
  }
}

/**
 * Signals every process of the shell's session (the shell leads it: its jobs, background ones
 * too, are in it), as the host sees them. A process that left the session (`setsid`, `nohup`
 * daemons) stays, as it would after a hang-up on any terminal.
 */
async function signalSession(pidFile: string, signal: NodeJS.Signals): Promise<void> {
  const leader = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(leader) || leader <= 1) return;
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // `pid (comm) state ppid pgrp session ...`: the name may hold anything, so fields are read after its last ')'.
    const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    if (session !== leader) continue;
    try {
      process.kill(Number(entry), signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * The user's login shell in the server, on a pseudo-terminal inside it (`runc exec --tty`).
 * runc runs here on a pseudo-terminal of the host's, which it puts in raw mode: it copies bytes
 * between the two unchanged and passes each resize of ours (SIGWINCH) on to the server's. The
 * server's output is only ever bytes handed to the listener; nothing of it is interpreted here.
 */
export async function openTerminal(target: ExecTarget, request: TerminalRequest): Promise<Terminal> {
  checkTerminalSize(request.rows, request.cols);
  const user = await resolveExecUser(target.rootfs, request.username, request.groupname);
  const pidFile = pidFileIn(target.scratchDir, 'terminal');
  const args = await execArguments(target, user, { pidFile, env: [['TERM', 'xterm-256color']], tty: true, command: [user.shell, '-l'] });
  const pty = spawnPty(target.runc.binary, args, { name: 'xterm-256color', rows: request.rows, cols: request.cols, cwd: '/', env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, encoding: null });

  let over = false;
  const exited = new Promise<number>((resolve) => {
    pty.onExit(({ exitCode, signal }) => {
      over = true;
      void rm(pidFile, { force: true });
      resolve(signal ? 128 + signal : exitCode);
    });
  });
  // Input typed before the shell has started would be echoed (and may be discarded) by the host's
  // terminal before runc puts it in raw mode: it waits for the shell's first output.
  let pending: Buffer[] | undefined = [];
  pty.onData(() => {
    if (!pending) return;
    const held = pending;
    pending = undefined;
    for (const input of held) pty.write(input as unknown as string);
  });
  let closing = false;
  return {
    onOutput: (listener) => void pty.onData((chunk) => listener(chunk as unknown as Buffer)),
    write: (input) => {
      if (over) return;
      if (pending) pending.push(input);
      else pty.write(input as unknown as string);
    },
    resize: (rows, cols) => {
      checkTerminalSize(rows, cols);
      if (!over) pty.resize(cols, rows);
    },
    pause: () => pty.pause(),
    resume: () => pty.resume(),
    close: () => {
      if (over || closing) return;
      closing = true;
      void signalSession(pidFile, 'SIGHUP');
      setTimeout(() => {
        if (over) return;
        void signalSession(pidFile, 'SIGKILL').finally(() => pty.kill('SIGKILL'));
      }, HANGUP_GRACE_MS).unref();
    },
    exited,
  };
}
