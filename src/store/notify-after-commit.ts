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
  return {
    async connect() {
      const client = await pool.connect();
      return deferringClient(client);
    },
    end: () => pool.end(),
  };
}

function deferringClient(client: PostgresPoolClient): PostgresPoolClient {
  let inTransaction = false;
  const pending = new Set<string>();
  // The notifications of the last commit, still being sent: the next query (or the release)
  // waits for them, since a pg client must not be handed a query while it runs another.
  let sending: Promise<void> = Promise.resolve();
  const query = (async (statement: unknown, parameters?: ReadonlyArray<unknown>) => {
    await sending;
    if (typeof statement !== 'string') return client.query(statement as never);
    const command = statement.trim().toLowerCase();
    if (inTransaction && statement === NOTIFY_STATEMENT) {
      pending.add(String(parameters![0]));
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
    // Not awaited by the committer, who need not wait for it. A wake-up is a hint (waiters also
    // poll): a failed one costs latency, not correctness.
    sending = (async () => {
      for (const channel of channels) await client.query(NOTIFY_STATEMENT, [channel]).catch(() => undefined);
    })();
    return result;
  }) as PostgresPoolClient['query'];
  return { query, release: () => void sending.then(() => client.release()) };
}
