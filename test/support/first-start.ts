import { spawn } from 'node:child_process';

// Generous: a loaded machine starts slowly; this bounds a hang, it is no speed target.
const START_TIMEOUT_MS = 60_000;

export interface FirstStart {
  /** The address it listens at and the admin API token its first start printed. */
  ready: Promise<{ base: string; token: string }>;
  stop(): Promise<void>;
}

/**
 * `nimbus serve` on an empty database, as a user starts it the first time: `node` running
 * `args`, on a port of its choice. Ready once it listens and has printed the admin's token.
 */
export function firstStart(node: string, args: string[], env: Record<string, string>, cwd?: string): FirstStart {
  const child = spawn(node, [...args, 'serve', '--port', '0'], {
    cwd,
    env: { ...process.env, NIMBUS_LOG_LEVEL: 'info', NIMBUS_DNS_PORT: '0', NIMBUS_ROUTER_PORT: '0', NIMBUS_DATABASE_URL: '', NIMBUS_PORT: '', NIMBUS_ADMIN_PASSWORD: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('close', resolve));
  const ready = new Promise<{ base: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no token within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    // Listening comes first, then the bootstrap of the empty database prints the token.
    const read = (chunk: Buffer) => {
      output += chunk;
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      const printed = /admin API token: (\S+)\n/.exec(output);
      if (listening && printed) (clearTimeout(timer), resolve({ base: listening[1]!, token: printed[1]! }));
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then((code) => (clearTimeout(timer), reject(new Error(`nimbus exited with ${code}:\n${output}`))));
  });
  ready.catch(() => undefined);
  return {
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
