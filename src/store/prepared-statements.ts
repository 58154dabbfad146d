import { createHash } from 'node:crypto';
import { sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * PostgreSQL parses and plans every statement sent without a name, and for the task pipeline's
 * statements (claims, outcomes, creations: CTEs over several tables) planning costs the server
 * more than running them. A statement whose text ends with this tag is sent as a named
 * prepared statement instead: each connection parses it once, and PostgreSQL reuses its plan.
 * Only statements whose text comes in a few shapes may carry it (values must be parameters).
 */
const PREPARED_TAG = '/* prepared */';

/** Appended to a statement built with `sql`: marks it as worth preparing (see above). */
export const preparedStatement = sql.raw(` ${PREPARED_TAG}`);

/** A runaway number of shapes falls back to unnamed statements rather than filling the server's memory. */
const MAX_PREPARED_PER_CONNECTION = 200;

const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `nimbus_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (names.size >= MAX_PREPARED_PER_CONNECTION) names.clear();
    names.set(text, name);
  }
  return name;
}

/** `pool`'s connections, sending the statements tagged as prepared as named prepared statements. */
export function preparingStatements(pool: pg.Pool): PostgresPool {
  const preparedBy = new WeakMap<pg.PoolClient, Set<string>>();
  return {
    async connect() {
      const client = await pool.connect();
      const prepared = preparedBy.get(client) ?? preparedBy.set(client, new Set()).get(client)!;
      const query = (statement: unknown, parameters?: unknown[]): unknown => {
        if (typeof statement !== 'string' || !statement.endsWith(PREPARED_TAG)) return client.query(statement as never, parameters as never);
        const name = nameOf(statement);
        if (!prepared.has(name) && prepared.size >= MAX_PREPARED_PER_CONNECTION) return client.query(statement, parameters);
        prepared.add(name);
        return client.query({ name, text: statement, values: parameters });
      };
      return { query: query as PostgresPoolClient['query'], release: () => client.release() };
    },
    end: () => pool.end(),
  };
}
