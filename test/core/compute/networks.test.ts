import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId, nowIso } from '../../../src/core/clock.ts';
import { parseRange } from '../../../src/core/compute/addresses.ts';
import { retryOnUniqueViolation } from '../../../src/core/compute/context.ts';
import { ensureNetwork } from '../../../src/core/compute/networks.ts';
import { migrateToLatest } from '../../../src/store/migrate.ts';
import { testDatabases } from '../../support/databases.ts';

for (const database of testDatabases) {
  describe(`private networks [${database.name}]`, () => {
    it('gives organizations racing for networks distinct subnets, and one network each', async () => {
      const { store, cleanup } = await database.open();
      try {
        await migrateToLatest(store);
        const now = nowIso();
        const organizations = Array.from({ length: 6 }, (_, i) => ({ id: newId(), name: `o${i}`, slug: `o${i}`, parent_id: null, path: `/o${i}/`, created_at: now, updated_at: now }));
        await store.db.insertInto('organizations').values(organizations).execute();
        const range = parseRange('10.99.0.0/20');
        // Each organization asks twice at once: twelve transactions race for the first free /24s.
        const networks = await Promise.all(
          [...organizations, ...organizations].map((o) => retryOnUniqueViolation(() => store.db.transaction().execute((trx) => ensureNetwork(trx, o.id, range)))),
        );
        const rows = await store.db.selectFrom('networks').selectAll().execute();
        assert.equal(rows.length, 6);
        assert.equal(new Set(rows.map((r) => r.subnet)).size, 6);
        for (const o of organizations) assert.equal(new Set(networks.filter((n) => n.organization_id === o.id).map((n) => n.id)).size, 1);
        assert.ok(rows.every((r) => /^nb[0-9a-f]{12}$/.test(r.bridge)));
      } finally {
        await cleanup();
      }
    });
  });
}
