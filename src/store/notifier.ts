import type pg from 'pg';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { CHANNEL_PREFIX_SQL, notifyAfterCommit } from './notify-after-commit.ts';
import { postgresDriver } from './postgres-driver.ts';
import type { Database } from './schema.ts';

/** Wake-up channels between the processes sharing one database. */
export type NotifyChannel = 'tasks' | 'task_cancel' | 'events' | 'command_output' | 'dns';

/**
 * Wakes waiting code (workers, long polls, event streams) when something it waits for was
 * committed, in this process and in every other process on the same database. A wake-up is a
 * hint only: every waiter also polls, so nothing is lost when a notification is.
 */
export interface Notifier {
  /** Wakes `channel`'s subscribers everywhere once `trx` commits. */
  notify(trx: Transaction<Database> | Kysely<Database>, channel: NotifyChannel): Promise<void>;
  subscribe(channel: NotifyChannel, listener: () => void): () => void;
  close(): Promise<void>;
}

/**
 * PostgreSQL named by URL: LISTEN/NOTIFY, so replicas wake each other. Otherwise (SQLite, or the
 * embedded PostgreSQL of the tests) wake-ups stay in this process.
 */
export function createNotifier(databaseUrl: string | undefined, logger: Logger): Notifier {
  return databaseUrl ? createPostgresNotifier(databaseUrl, logger) : createInProcessNotifier();
}

function listenerRegistry() {
  const listeners = new Map<NotifyChannel, Set<() => void>>();
  return {
    add(channel: NotifyChannel, listener: () => void) {
      const set = listeners.get(channel) ?? new Set();
      listeners.set(channel, set);
      set.add(listener);
      return () => void set.delete(listener);
    },
    fire(channel: NotifyChannel) {
      for (const listener of [...(listeners.get(channel) ?? [])]) listener();
    },
    channels: () => [...listeners.keys()],
  };
}

/**
 * One process, for stores with a single connection (SQLite, the embedded PostgreSQL of the
 * tests). The wake-up is delivered on the next turn of the event loop: every statement goes
 * through that one connection, so whatever a woken subscriber reads runs after the notifying
 * transaction ended.
 */
export function createInProcessNotifier(): Notifier {
  const registry = listenerRegistry();
  const due = new Set<NotifyChannel>();
  return {
    async notify(_trx, channel) {
      if (due.size === 0) {
        setImmediate(() => {
          const channels = [...due];
          due.clear();
          for (const c of channels) registry.fire(c);
        });
      }
      due.add(channel);
    },
    subscribe: registry.add,
    async close() {},
  };
}

const RECONNECT_DELAY_MS = 1_000;

/**
 * Notifications are sent once the notifying transaction commits, never if it rolls back (see
 * notify-after-commit.ts). One dedicated connection LISTENs for every process-wide channel and
 * reconnects after a failure (waking everyone once, since notifications may have been missed).
 */
function createPostgresNotifier(databaseUrl: string, logger: Logger): Notifier {
  const registry = listenerRegistry();
  const channels: NotifyChannel[] = ['tasks', 'task_cancel', 'events', 'command_output', 'dns'];
  let client: pg.Client | null = null;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | null = null;

  async function connect(): Promise<void> {
    const { Client } = postgresDriver();
    const next = new Client({ connectionString: databaseUrl });
    let prefix = '';
    next.on('notification', (message) => {
      if (message.channel.startsWith(prefix)) registry.fire(message.channel.slice(prefix.length) as NotifyChannel);
    });
    next.on('error', (error) => {
      logger.warn({ err: error }, 'notification connection failed; reconnecting');
      scheduleReconnect(next);
    });
    next.on('end', () => scheduleReconnect(next));
    try {
      await next.connect();
      prefix = (await next.query<{ prefix: string }>(`select ${CHANNEL_PREFIX_SQL} as prefix`)).rows[0]!.prefix;
      for (const channel of channels) await next.query(`LISTEN "${prefix}${channel}"`);
    } catch (error) {
      logger.warn({ err: error }, 'cannot listen for notifications; retrying (work is still picked up by polling)');
      scheduleReconnect(next);
      return;
    }
    if (closed) return void next.end().catch(() => undefined);
    client = next;
    for (const channel of registry.channels()) registry.fire(channel);
  }

  function scheduleReconnect(failed: pg.Client): void {
    if (closed || reconnectTimer || (client !== null && client !== failed)) return;
    client = null;
    failed.end().catch(() => undefined);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, RECONNECT_DELAY_MS);
  }

  void connect();
  return {
    async notify(trx, channel) {
      await notifyAfterCommit(trx, channel);
    },
    subscribe: registry.add,
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}

/**
 * Resolves on the next wake-up of `channel`, after `timeoutMs`, or when `signal` aborts,
 * whichever comes first. It subscribes when called: call it before reading the state you wait
 * on and await it after, so that a change committed in between still wakes you.
 */
export function nextWakeUp(notifier: Notifier, channels: NotifyChannel[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const stops: (() => void)[] = [];
    const done = () => {
      for (const stop of stops) stop();
      resolve();
    };
    if (signal?.aborted) return done();
    for (const channel of channels) stops.push(notifier.subscribe(channel, done));
    const timer = setTimeout(done, Math.max(0, timeoutMs));
    stops.push(() => clearTimeout(timer));
    if (signal) {
      signal.addEventListener('abort', done, { once: true });
      stops.push(() => signal.removeEventListener('abort', done));
    }
  });
}
