import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CommandFailed, run } from '../command.ts';
import { exists } from '../files.ts';

export interface ContainerStatus {
  id: string;
  /** runc's words: creating, created, running, paused, stopped. */
  status: string;
  pid: number;
}

/** runc says "container does not exist" (wording varies a little between versions). */
function isMissing(error: unknown): boolean {
  return error instanceof CommandFailed && /does not exist|not exist|no such container/i.test(error.stderr + error.message);
}

/**
 * The runc command line, with a state directory of our own (`--root`), so containers of one
 * compute root are never confused with another's.
 */
export class Runc {
  constructor(readonly binary: string, readonly stateDir: string) {}

  private run(args: string[], options: Parameters<typeof run>[2] = {}) {
    return run(this.binary, ['--root', this.stateDir, ...args], options);
  }

  /**
   * Creates and starts the container detached: its stdio is the log file, runc exits once it
   * runs, and nothing ties the container to this process (it outlives Nimbus restarts).
   */
  async runDetached(containerId: string, bundle: string, logFile: string, pidFile: string): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    await this.run(['run', '--detach', '--pid-file', pidFile, '--bundle', bundle, containerId], { outputFile: logFile, detached: true, timeoutMs: 60_000 });
  }

  async state(containerId: string): Promise<ContainerStatus | undefined> {
    // runc keeps a directory per container under its root: without one there is nothing to ask.
    if (!(await exists(path.join(this.stateDir, containerId)))) return undefined;
    try {
      const { stdout } = await this.run(['state', containerId]);
      const state = JSON.parse(stdout) as { id: string; status: string; pid: number };
      return { id: state.id, status: state.status, pid: state.pid };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async list(): Promise<ContainerStatus[]> {
    const { stdout } = await this.run(['list', '--format', 'json']);
    const parsed = JSON.parse(stdout.trim() || 'null') as { id: string; status: string; pid: number }[] | null;
    return (parsed ?? []).map(({ id, status, pid }) => ({ id, status, pid }));
  }

  /**
   * SIGTERM goes to the container's init only (it shuts the server down, like a machine's init
   * would); SIGKILL goes to every process. A container already gone is not an error.
   */
  async kill(containerId: string, signal: 'TERM' | 'KILL'): Promise<void> {
    try {
      await this.run(signal === 'KILL' ? ['kill', '--all', containerId, signal] : ['kill', containerId, signal]);
    } catch (error) {
      if (isMissing(error) || (error instanceof CommandFailed && /not running|process already finished/i.test(error.stderr))) return;
      throw error;
    }
  }

  async delete(containerId: string): Promise<boolean> {
    try {
      await this.run(['delete', '--force', containerId]);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }
}
