import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newId, nowIso } from '../../../src/core/clock.ts';
import { parseRange } from '../../../src/core/compute/addresses.ts';
import { retryOnUniqueViolation } from '../../../src/core/compute/context.ts';
import { allocateIdBlock, ensureNetwork } from '../../../src/core/compute/networks.ts';
import { BUILTIN_IMAGE_ID } from '../../../src/store/migrations/0400_compute.ts';
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

    it('gives every server its own block of host ids, even racing, and reuses a freed one', async () => {
      const { store, cleanup } = await database.open();
      try {
        await migrateToLatest(store);
        const now = nowIso();
        const organization = { id: newId(), name: 'ids', slug: 'ids', parent_id: null, path: '/ids/', created_at: now, updated_at: now };
        await store.db.insertInto('organizations').values(organization).execute();
        const network = await store.db.transaction().execute((trx) => ensureNetwork(trx, organization.id, parseRange('10.98.0.0/20')));
        const createServer = (n: number) =>
          retryOnUniqueViolation(() =>
            store.db.transaction().execute(async (trx) => {
              const id = newId();
              await trx.insertInto('servers').values({
                id, organization_id: organization.id, organization_path: organization.path, name: `s${n}`, hostname: `s${n}`, image_id: BUILTIN_IMAGE_ID, vcpus: 1,
                memory_bytes: 1 << 28, state: 'stopped', state_detail: '', network_id: network.id, private_ip: `10.98.0.${n + 10}`, root_volume_id: newId(), environment_id: null,
                tags: '[]', facts: null, facts_updated_at: null, host: 'test', id_block: await allocateIdBlock(trx), revision: 1, created_at: now, updated_at: now,
              }).execute();
              return id;
            }),
          );
        const ids = await Promise.all(Array.from({ length: 8 }, (_, n) => createServer(n)));
        const blocks = async () => (await store.db.selectFrom('servers').select(['id', 'id_block']).execute()).map((r) => ({ id: r.id, block: Number(r.id_block) }));
        assert.deepEqual((await blocks()).map((r) => r.block).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
        const freed = (await blocks()).find((r) => r.id === ids[3])!.block;
        await store.db.deleteFrom('servers').where('id', '=', ids[3]!).execute();
        const next = await createServer(20);
        assert.equal((await blocks()).find((r) => r.id === next)!.block, freed);
      } finally {
        await cleanup();
      }
    });
  });
}
