import { createRuncHost } from '../../src/backends/runc/index.ts';
import { computeSkipReason, computeTestSettings } from './compute.ts';
import { api, eventually, processDatabases, type ServerProcess, type SharedDatabase } from './server-process.ts';

/**
 * For tests that run `nimbus serve` processes with compute: the databases to run them on (each
 * skipped, saying why, where it cannot run), and a database plus a compute root and network
 * range that the processes share, released by `cleanups` in reverse order.
 */
const computeSkip = computeSkipReason();

export const computeProcessDatabases = processDatabases.map((database) => ({ ...database, skip: computeSkip ?? database.skip }));

export interface ComputeProcessSetup {
  database: SharedDatabase;
  token: string;
  /** The compute root the processes share. */
  root: string;
  /** What to start `nimbus serve` with: the database, the compute root and network range, short timeouts. */
  env: Record<string, string>;
}

export async function computeProcessSetup(open: () => Promise<SharedDatabase>, cleanups: (() => Promise<void> | void)[]): Promise<ComputeProcessSetup> {
  const database = await open();
  cleanups.push(() => database.cleanup());
  const compute = computeTestSettings();
  cleanups.push(() => compute.dispose());
  const root = compute.config.computeDir;
  // Whatever a failed run left (the organization's bridge too) goes before the range is given back.
  cleanups.push(() => createRuncHost({ root }).sweep({ servers: new Set(), volumes: new Set(), networks: new Set() }).then(() => undefined));
  const env = {
    ...database.env,
    NIMBUS_COMPUTE_DIR: root,
    NIMBUS_NETWORK_RANGE: compute.config.networkRange,
    NIMBUS_HOST_ID: compute.config.hostId,
    NIMBUS_STOP_TIMEOUT_SECONDS: '2',
    NIMBUS_TASK_LEASE_SECONDS: '2',
    NIMBUS_SHUTDOWN_GRACE_SECONDS: '1',
  };
  return { database, token: database.token, root, env };
}

/** The command, once it has finished. */
export function commandFinished(server: ServerProcess, token: string, id: string): Promise<any> {
  return eventually(
    'the command to finish',
    async () => {
      const command = (await api(server, token, 'GET', `/api/events/commands/${id}/`)).json;
      return ['success', 'failed'].includes(command.status) ? command : undefined;
    },
    60_000,
  );
}
