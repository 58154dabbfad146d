import { CompiledQuery, type Kysely, type PostgresPool, type PostgresPoolClient, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * PostgreSQL sends a NOTIFY issued in a transaction when the transaction commits, but it takes a
 * database-wide lock for that and holds it through the commit's WAL flush: every writing
 * transaction that notifies then commits one at a time, which caps the whole cluster at one
 * fsync per transaction. So a notification asked for inside a transaction is held back by the
 * connection and sent right after a successful COMMIT (dropped on ROLLBACK), outside any
 * transaction, where it writes nothing and nobody waits for it.
 */
/**
 * Channel names carry a tag of the connection's schema, so that deployments (or test runs)
 * sharing one PostgreSQL server in different schemas never wake each other.
 */
export const CHANNEL_PREFIX_SQL = "'nimbus_' || left(md5(current_schema()), 8) || '_'";
const NOTIFY_STATEMENT = `select pg_notify(${CHANNEL_PREFIX_SQL} || $1, '') /* after commit */`;

/** Notifies `channel` once `db`'s transaction commits (at once outside a transaction). */
export async function notifyAfterCommit(db: Kysely<Database> | Transaction<Database>, channel: string): Promise<void> {
  await db.executeQuery(CompiledQuery.raw(NOTIFY_STATEMENT, [channel]));
}

/** The pool every PostgreSQL store uses: its connections defer notifications to their commit. */
export function deferringNotifications(pool: PostgresPool): PostgresPool {
  const outbox = notificationOutbox();
  return {
    async connect() {
      const client = await pool.connect();
      return deferringClient(client, outbox);
    },
    end: () => pool.end(),
  };
}

/**
 * The channels committed transactions still have to wake, shared by the pool's connections.
 * One statement at a time is in flight, naming every channel due: the commits made while it
 * runs are woken by the next one. Under load that is one NOTIFY per round trip, not one per
 * transaction and channel (each of which costs a write on both sides). The statement runs on
 * the connection of the commit that found none in flight, which waits for it before its next
 * query; so every notification is still sent after its transaction's commit.
 */
function notificationOutbox() {
  const due = new Set<string>();
  let sending = false;
  return {
    /** Adds the channels of a commit on `client`; resolves once `client` is free again. */
    async post(client: PostgresPoolClient, channels: string[]): Promise<void> {
      for (const channel of channels) due.add(channel);
      if (sending || due.size === 0) return;
      sending = true;
      try {
        // The channels notified in this turn of the event loop (a statement's several) go together.
        await new Promise((resolve) => setImmediate(resolve));
        while (due.size) {
          const batch = [...due];
          due.clear();
          const calls = batch.map((_, i) => `pg_notify(${CHANNEL_PREFIX_SQL} || $${i + 1}, '')`);
          // A wake-up is a hint (waiters also poll): a failed one costs latency, not correctness.
          await client.query(`select ${calls.join(', ')}`, batch).catch(() => undefined);
        }
      } finally {
        sending = false;
      }
    },
  };
}

function deferringClient(client: PostgresPoolClient, outbox: ReturnType<typeof notificationOutbox>): PostgresPoolClient {
  let inTransaction = false;
  const pending = new Set<string>();
  // The notifications this connection is still sending: the next query (or the release) waits
  // for them, since a pg client must not be handed a query while it runs another.
  let sending: Promise<void> = Promise.resolve();
  const query = (async (statement: unknown, parameters?: ReadonlyArray<unknown>) => {
    await sending;
    if (typeof statement !== 'string') return client.query(statement as never);
    const command = statement.trim().toLowerCase();
    if (statement === NOTIFY_STATEMENT) {
      if (inTransaction) {
        pending.add(String(parameters![0]));
        return { command: 'SELECT', rowCount: 1, rows: [] };
      }
      // Outside a transaction there is nothing to wait for; the caller need not wait either.
      sending = outbox.post(client, [String(parameters![0])]);
      return { command: 'SELECT', rowCount: 1, rows: [] };
    }
    if (command === 'begin' || command.startsWith('start transaction')) {
      inTransaction = true;
      pending.clear();
      return client.query(statement, parameters ?? []);
    }
    if (command !== 'commit' && command !== 'rollback') return client.query(statement, parameters ?? []);
    const channels = command === 'commit' ? [...pending] : [];
    inTransaction = false;
    pending.clear();
    const result = await client.query(statement, parameters ?? []);
    // Not awaited by the committer, who need not wait for it.
    sending = outbox.post(client, channels);
    return result;
  }) as PostgresPoolClient['query'];
  return { query, release: () => void sending.then(() => client.release()) };
}
