import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { createLogger } from '../../src/logger.ts';
import { openStore } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { createNotifier, nextWakeUp, type Notifier } from '../../src/store/notifier.ts';
import { testDatabases, testPostgresUrl } from '../support/databases.ts';
import { eventually } from '../support/eventually.ts';

/** Whether the `tasks` channel wakes within `ms` of running `during`. */
async function wakes(notifier: Notifier, ms: number, during: () => Promise<unknown>): Promise<boolean> {
  let woke = false;
  const stop = notifier.subscribe('tasks', () => (woke = true));
  try {
    await during().catch(() => undefined);
    if (!woke) await nextWakeUp(notifier, ['tasks'], ms);
    return woke;
  } finally {
    stop();
  }
}

async function withNotifier(database: (typeof testDatabases)[number], work: (store: Awaited<ReturnType<typeof database.open>>['store'], notifier: Notifier, url?: string) => Promise<void>) {
  const { store, url, cleanup } = await database.open();
  const notifier = createNotifier(url, createLogger('silent'));
  try {
    await migrateToLatest(store);
    // A LISTEN connection needs a moment to be listening.
    if (url) await new Promise((resolve) => setTimeout(resolve, 500));
    await work(store, notifier, url);
  } finally {
    await notifier.close();
    await cleanup();
  }
}

for (const database of testDatabases) {
  describe(`notifier [${database.name}]`, () => {
    it('wakes subscribers when the notifying transaction commits', () =>
      withNotifier(database, async (store, notifier) => {
        assert.equal(await wakes(notifier, 2000, () => store.db.transaction().execute((trx) => notifier.notify(trx, 'tasks'))), true);
      }));
  });
}

describe('notifier across connections [postgres]', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL' }, () => {
  const postgres = testDatabases.find((d) => d.name === 'postgres')!;
  it('sends nothing for a transaction that rolls back, and nothing before the commit', () =>
    withNotifier(postgres, async (store, notifier) => {
      const rolledBack = () =>
        store.db.transaction().execute(async (trx) => {
          await notifier.notify(trx, 'tasks');
          throw new Error('roll back');
        });
      assert.equal(await wakes(notifier, 500, rolledBack), false);
      let woke = false;
      const stop = notifier.subscribe('tasks', () => (woke = true));
      let wokeBeforeCommit: boolean | undefined;
      await store.db.transaction().execute(async (trx) => {
        await notifier.notify(trx, 'tasks');
        await new Promise((resolve) => setTimeout(resolve, 300));
        wokeBeforeCommit = woke;
      });
      if (!woke) await nextWakeUp(notifier, ['tasks'], 2000);
      stop();
      assert.equal(wokeBeforeCommit, false, 'nothing is sent before the commit');
      assert.equal(woke, true, 'woken once it committed');
    }));
});

describe('notifications after commit [postgres]', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL' }, () => {
  const postgres = testDatabases.find((d) => d.name === 'postgres')!;
  it('never hand a connection a query while its notifications are still being sent', () =>
    withNotifier(postgres, async (store, notifier) => {
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on('warning', onWarning);
      try {
        // Back-to-back transactions that notify: each next one reuses the connection at once.
        for (let i = 0; i < 20; i++) {
          await store.db.transaction().execute(async (trx) => {
            await notifier.notify(trx, 'tasks');
            await notifier.notify(trx, 'task_cancel');
          });
          await store.db.selectFrom('tasks').select('id').limit(1).execute();
        }
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings.filter((w) => w.includes('already executing a query')), []);
    }));

  it('sends the channels notified one after the other outside a transaction in one statement', () =>
    withNotifier(postgres, async (_store, notifier, url) => {
      // A store of its own on the same schema, whose statements are counted.
      const statements: string[] = [];
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      const counting: PostgresPool = {
        async connect() {
          const client = await pool.connect();
          const query = (text: string, values?: unknown[]): unknown => (statements.push(text), client.query(text, values));
          return { query: query as PostgresPoolClient['query'], release: () => client.release() };
        },
        end: () => pool.end(),
      };
      const store = openStore({ postgresPool: counting });
      // Both connections open, as a server's pool has them: the second notification finds one free at once.
      await Promise.all([store.db.selectFrom('tasks').select('id').execute(), store.db.selectFrom('events').select('id').execute()]);
      const woke = new Set<string>();
      const stops = (['tasks', 'task_cancel'] as const).map((channel) => notifier.subscribe(channel, () => woke.add(channel)));
      try {
        await notifier.notify(store.db, 'tasks');
        await notifier.notify(store.db, 'task_cancel');
        await eventually('both channels to wake', async () => (woke.size === 2 ? true : undefined), 5_000);
        assert.equal(statements.filter((text) => text.includes('pg_notify')).length, 1, statements.join('\n'));
      } finally {
        for (const stop of stops) stop();
        await store.close();
      }
    }));
});

describe('notifier per schema [postgres]', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL' }, () => {
  const postgres = testDatabases.find((d) => d.name === 'postgres')!;
  it('does not wake a deployment in another schema of the same server', () =>
    withNotifier(postgres, (store, notifier) =>
      withNotifier(postgres, async (_otherStore, otherNotifier) => {
        let otherWoke = false;
        const stop = otherNotifier.subscribe('tasks', () => (otherWoke = true));
        try {
          assert.equal(await wakes(notifier, 2000, () => store.db.transaction().execute((trx) => notifier.notify(trx, 'tasks'))), true);
          await new Promise((resolve) => setTimeout(resolve, 300));
          assert.equal(otherWoke, false);
        } finally {
          stop();
        }
      }),
    ));
});
