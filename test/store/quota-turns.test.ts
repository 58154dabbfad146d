import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createQuotaService } from '../../src/core/quotas/quota-service.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { testDatabases, testPostgresUrl } from '../support/databases.ts';

const postgres = testDatabases.find((d) => d.name === 'postgres')!;

describe('quota turns [postgres]', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL (two connections at once)' }, () => {
  it("make one organization's creates wait for each other, and no one else's", async () => {
    const { store, cleanup } = await postgres.open();
    try {
      await migrateToLatest(store);
      const quotas = createQuotaService({ store });
      const order: string[] = [];
      let releaseFirst!: () => void;
      const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
      let firstHasTurn!: () => void;
      const firstStarted = new Promise<void>((resolve) => (firstHasTurn = resolve));
      const first = store.db.transaction().execute(async (trx) => {
        await quotas.takeTurn(trx, 'org-a');
        firstHasTurn();
        await firstHolds;
        order.push('first done');
      });
      await firstStarted;
      const second = store.db.transaction().execute(async (trx) => {
        await quotas.takeTurn(trx, 'org-a');
        order.push('second has its turn');
      });
      const other = store.db.transaction().execute(async (trx) => {
        await quotas.takeTurn(trx, 'org-b');
        order.push('another organization');
      });
      await other;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(order, ['another organization'], 'the second create of org-a waits while the first holds its turn');
      releaseFirst();
      await Promise.all([first, second]);
      assert.deepEqual(order, ['another organization', 'first done', 'second has its turn']);
    } finally {
      await cleanup();
    }
  });
});
