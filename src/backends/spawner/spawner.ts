import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Host commands are started by a small helper process (`spawner-process.mjs`), not by the API
 * process itself: starting a program costs in proportion to the starting process's memory (the
 * kernel copies its page tables, and the event loop waits meanwhile), which made each `mount`,
 * `ip` or `runc` of a server start cost several milliseconds more from the API process.
 * The helper starts on first use, again after it died, and goes with this process.
 */

export interface SpawnRequest {
  command: string;
  args: string[];
  input?: string;
  timeoutMs: number;
  outputFile?: string;
  detached?: boolean;
}

export interface SpawnReply {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  spawnError?: { code?: string; message: string };
}

const SPAWNER_PROGRAM = fileURLToPath(new URL('./spawner-process.mjs', import.meta.url));

function createSpawner() {
  let child: ChildProcess | null = null;
  let nextId = 0;
  const pending = new Map<number, { resolve: (reply: SpawnReply) => void; reject: (error: Error) => void }>();

  function settle(id: number, outcome: { reply: SpawnReply } | { error: Error }): void {
    const waiting = pending.get(id);
    if (!waiting) return;
    pending.delete(id);
    // Only a command in flight keeps this process alive through the helper.
    if (pending.size === 0) child?.channel?.unref();
    if ('reply' in outcome) waiting.resolve(outcome.reply);
    else waiting.reject(outcome.error);
  }

  function start(): ChildProcess {
    // Its own process group: a Ctrl-C meant for the API process (which shuts down gracefully,
    // letting running tasks finish) does not kill the commands those tasks are waiting for.
    const started = fork(SPAWNER_PROGRAM, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], detached: true });
    started.unref();
    started.channel?.unref();
    started.on('message', (message: SpawnReply & { id: number }) => settle(message.id, { reply: message }));
    started.on('exit', () => {
      if (child === started) child = null;
      for (const id of [...pending.keys()]) settle(id, { error: new Error('the command spawner process exited; the command may not have run') });
    });
    child = started;
    return started;
  }

  return {
    run(request: SpawnRequest): Promise<SpawnReply> {
      const target = child ?? start();
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        target.channel?.ref();
        target.send({ id, ...request }, (error) => {
          if (error) settle(id, { error });
        });
      });
    },
  };
}

export const spawner = createSpawner();
