import { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/**
 * An embedded PostgreSQL (PGlite, PostgreSQL compiled to WebAssembly) behind the `pg.Pool`
 * interface Kysely's PostgreSQL dialect uses. PGlite has a single session, so connections are
 * handed out one at a time: transactions stay isolated, and queries simply queue.
 */
export class PGlitePool implements PostgresPool {
  private readonly db = new PGlite({ parsers: { 20: (value: string) => Number(value) } });
  private queue: Promise<void> = Promise.resolve();

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    const db = this.db;
    return {
      async query(sql: string, parameters: ReadonlyArray<unknown>) {
        const result = await db.query<Record<string, unknown>>(sql, parameters as unknown[]);
        const command = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
        return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
      },
      release,
    } as unknown as PostgresPoolClient;
  }

  async end(): Promise<void> {
    await this.queue;
    await this.db.close();
  }
}
