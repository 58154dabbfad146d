import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bootstrapIfEmpty } from '../../src/core/bootstrap.ts';
import { createSecretBox } from '../../src/core/secrets/secret-box.ts';
import { createCoreServices } from '../../src/core/services.ts';
import { openStore, type Store, type StoreOptions } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { processPostgresSkip, throwawaySchema } from './databases.ts';
import { eventually } from './eventually.ts';
import { TEST_SECRET_KEY } from './app.ts';
import { createTestTables } from './test-handlers.ts';

export { eventually };

const ENTRY = path.resolve(import.meta.dirname, 'serve-with-test-handlers.ts');
// Generous: a loaded machine compiles the sources slowly; this bounds a hang, it is no speed target.
const START_TIMEOUT_MS = 90_000;
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A database several `nimbus serve` processes share, migrated and bootstrapped, with the test tables. */
export interface SharedDatabase {
  /** Environment that points a server at it. */
  env: Record<string, string>;
  token: string;
  /** A store of the test's own on the same database, to look inside. */
  store: Store;
  cleanup(): Promise<void>;
}

async function prepare(options: StoreOptions, env: Record<string, string>, drop: () => Promise<void>): Promise<SharedDatabase> {
  const store = openStore(options);
  await migrateToLatest(store);
  const boot = await bootstrapIfEmpty(store, createCoreServices(store, { secrets: createSecretBox(TEST_SECRET_KEY) }).tokens, { adminPassword: 'not-used-by-these-tests' });
  await createTestTables(store.db);
  return {
    // Every process on one database shares its secret key, as replicas must.
    env: { ...env, NIMBUS_SECRET_KEY: TEST_SECRET_KEY },
    token: boot!.token,
    store,
    async cleanup() {
      await store.close();
      await drop();
    },
  };
}

export function sqliteDatabase(): Promise<SharedDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-proc-'));
  return prepare({ sqliteFile: path.join(dir, 'nimbus.db') }, { NIMBUS_DATA_DIR: dir }, async () => fs.rmSync(dir, { recursive: true, force: true }));
}

export async function postgresDatabase(): Promise<SharedDatabase> {
  const { url, drop } = await throwawaySchema();
  return prepare({ postgresUrl: url, poolSize: 3 }, { NIMBUS_DATABASE_URL: url }, drop);
}

/** The databases `nimbus serve` processes can share, each skipped (saying why) where it cannot run. */
export const processDatabases: { name: string; open: () => Promise<SharedDatabase>; skip: false | string }[] = [
  { name: 'sqlite', open: sqliteDatabase, skip: false },
  { name: 'postgres', open: postgresDatabase, skip: processPostgresSkip },
];

export interface ServerProcess {
  pid: number;
  url: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

/** Spawns `nimbus serve` (with the test task types) on a random port and waits until it listens. */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...process.env, NIMBUS_HOST: '127.0.0.1', NIMBUS_PORT: '0', NIMBUS_DNS_PORT: '0', NIMBUS_ROUTER_PORT: '0', NIMBUS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => (children.delete(child), resolve())));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A process left running would keep the test file from ever ending.
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    void exited.then(() => reject(new Error(`the server exited while starting:\n${output}`)));
  });
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    exited,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    output: () => output,
  };
}

/** JSON over HTTP to a spawned server, as the admin. */
export async function api(server: ServerProcess, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${server.url}${url}`, {
    method,
    headers: { authorization: `token="${token}"`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

const FINAL_TASK_STATUSES = ['succeeded', 'failed', 'cancelled'];

/** The tasks, once every one of them has finished (none pending, running or cancelling). */
export function tasksFinished(server: ServerProcess, token: string, ids: string[], timeoutMs = 30_000): Promise<any[]> {
  return eventually(
    'every task to finish',
    async () => {
      const tasks = await Promise.all(ids.map(async (id) => (await api(server, token, 'GET', `/api/tasks/tasks/${id}/`)).json));
      return tasks.every((t) => FINAL_TASK_STATUSES.includes(t.status)) ? tasks : undefined;
    },
    timeoutMs,
  );
}
