import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { newId } from '../../src/core/clock.ts';
import { NotFound, ValidationFailed } from '../../src/core/errors.ts';
import { runList, type ListRequest, type ListSpec } from '../../src/core/listing.ts';
import type { Store } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { testDatabases } from '../support/databases.ts';

const spec: ListSpec = {
  filters: { slug: (query, value) => query.where('slug', '=', value) },
  searchColumns: ['name', 'slug'],
  orderings: { name: 'name', slug: 'slug', created_at: 'created_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

type Row = {
  id: string;
  name: string;
  slug: string;
  created_at: string;
};

for (const database of testDatabases) {
  describe(`listing [${database.name}]`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    const rows: Row[] = [];

    before(async () => {
      ({ store, cleanup } = await database.open());
      await migrateToLatest(store);
      // Many ties: three names and two timestamps among 23 rows, so only the id breaks them.
      for (let i = 0; i < 23; i++) {
        const id = newId();
        const row = { id, name: ['b', 'a', 'c'][i % 3]!, slug: `s-${String(i).padStart(2, '0')}`, created_at: i % 2 ? '2026-01-01T00:00:00.000Z' : '2026-01-02T00:00:00.000Z' };
        rows.push(row);
        await store.db.insertInto('organizations').values({ ...row, parent_id: null, path: `/${id}/`, updated_at: row.created_at }).execute();
      }
    });
    after(() => cleanup());

    const base = () => store.db.selectFrom('organizations').select(['id', 'name', 'slug', 'created_at']);
    const list = (request: Partial<ListRequest> & Pick<ListRequest, 'pagination'>) => runList<Row>(base(), spec, { filters: {}, ...request });
    const sorted = (ordering: string) => {
      const terms = ordering.split(',').map((t) => ({ key: t.replace('-', '') as keyof Row, sign: t.startsWith('-') ? -1 : 1 }));
      return [...rows]
        .sort((x, y) => {
          for (const { key, sign } of terms) if (x[key] !== y[key]) return (x[key] < y[key] ? -1 : 1) * sign;
          return x.id < y.id ? -1 : 1;
        })
        .map((r) => r.id);
    };

    it('pages through every row once, in order, by page numbers with the right totals', async () => {
      for (const pageSize of [1, 5, 22, 23, 24]) {
        const seen: string[] = [];
        for (let page = 1; ; page++) {
          const result = await list({ ordering: '-created_at,name', pagination: { style: 'page', page, pageSize } });
          assert.equal(result.style, 'page');
          if (result.style !== 'page') return;
          assert.equal(result.count, 23, `page ${page} of size ${pageSize}`);
          assert.equal(result.lastPage, Math.ceil(23 / pageSize));
          seen.push(...result.items.map((r) => r.id));
          if (page === result.lastPage) break;
        }
        assert.deepEqual(seen, sorted('-created_at,name'));
      }
      await assert.rejects(list({ pagination: { style: 'page', page: 3, pageSize: 20 } }), NotFound);
      const empty = await list({ filters: { slug: 'none' }, pagination: { style: 'page', page: 1, pageSize: 10 } });
      assert.deepEqual(empty, { style: 'page', items: [], count: 0, page: 1, pageSize: 10, lastPage: 1 });
    });

    it('walks keyset cursors both ways without gap or duplicate, for any page size and ordering', async () => {
      const orderings = ['name', '-name', 'created_at', '-created_at,name', 'name,-created_at', 'slug'];
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.constantFrom(...orderings), async (pageSize, ordering) => {
          const forward: string[] = [];
          let result = await list({ ordering, pagination: { style: 'cursor', cursor: null, pageSize } });
          assert.equal(result.style === 'cursor' && result.previous, null);
          for (;;) {
            if (result.style !== 'cursor') throw new Error('expected cursor pagination');
            forward.push(...result.items.map((r) => r.id));
            if (!result.next) break;
            result = await list({ ordering, pagination: { style: 'cursor', cursor: result.next, pageSize } });
          }
          assert.deepEqual(forward, sorted(ordering));
          const backward: string[] = [];
          let previous = result.style === 'cursor' ? result.previous : null;
          const lastPage = result.items.map((r) => r.id);
          while (previous) {
            const page = await list({ ordering, pagination: { style: 'cursor', cursor: previous, pageSize } });
            if (page.style !== 'cursor') throw new Error('expected cursor pagination');
            assert.ok(page.next, 'a page reached backwards has a next page');
            backward.unshift(...page.items.map((r) => r.id));
            previous = page.previous;
          }
          assert.deepEqual([...backward, ...lastPage], sorted(ordering));
        }),
        { numRuns: 12 },
      );
    });

    it('refuses a cursor made for another ordering, and unknown orderings', async () => {
      const first = await list({ ordering: 'name', pagination: { style: 'cursor', cursor: null, pageSize: 3 } });
      const cursor = first.style === 'cursor' ? first.next! : '';
      await assert.rejects(list({ ordering: 'slug', pagination: { style: 'cursor', cursor, pageSize: 3 } }), (e: unknown) => e instanceof ValidationFailed && e.fields.cursor?.[0] === 'Invalid cursor.');
      await assert.rejects(list({ ordering: 'id', pagination: { style: 'page', page: 1, pageSize: 3 } }), (e: unknown) => e instanceof ValidationFailed && 'ordering' in e.fields);
    });

    it('searches case-insensitively with LIKE wildcards and the escape character taken literally', async () => {
      const specials = [
        { name: 'Fifty%Off', slug: 'x-1' },
        { name: 'Under_Score', slug: 'x-2' },
        { name: 'Back\\Slash', slug: 'x-3' },
        { name: 'UnderXScore', slug: 'x-4' },
      ];
      const ids: string[] = [];
      for (const s of specials) {
        const id = newId();
        ids.push(id);
        await store.db.insertInto('organizations').values({ ...s, id, parent_id: null, path: `/${id}/`, created_at: '2026-01-03T00:00:00.000Z', updated_at: '2026-01-03T00:00:00.000Z' }).execute();
      }
      const names = async (search: string) => {
        const result = await list({ search, pagination: { style: 'page', page: 1, pageSize: 100 } });
        return result.items.map((r) => r.name).sort();
      };
      assert.deepEqual(await names('%'), ['Fifty%Off']);
      assert.deepEqual(await names('r_s'), ['Under_Score']);
      assert.deepEqual(await names('\\'), ['Back\\Slash']);
      assert.deepEqual(await names('UNDER'), ['UnderXScore', 'Under_Score']);
      assert.deepEqual(await names('X-4'), ['UnderXScore']);
      await store.db.deleteFrom('organizations').where('id', 'in', ids).execute();
    });
  });
}
