import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { newId } from '../../src/core/clock.ts';
import { NotFound, ValidationFailed } from '../../src/core/errors.ts';
import { choiceFilter, jsonTextsFilter, runList, uuidFilter, type ListRequest, type ListSpec } from '../../src/core/listing.ts';
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
    const list = (request: Partial<ListRequest> & Pick<ListRequest, 'pagination'>) => runList<Row>(store.db, base(), spec, { filters: {}, ...request });
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

    it('takes only declared filters and orderings, never inherited object properties', async () => {
      const all = await list({ filters: { toString: 'x', constructor: 'y', __proto__: 'z' }, pagination: { style: 'page', page: 1, pageSize: 100 } });
      assert.equal(all.style === 'page' && all.count, rows.length);
      for (const ordering of ['toString', 'constructor', 'hasOwnProperty']) {
        await assert.rejects(list({ ordering, pagination: { style: 'page', page: 1, pageSize: 3 } }), (e: unknown) => e instanceof ValidationFailed && 'ordering' in e.fields);
      }
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

    it('answers from a compiled shape exactly as from a query built for the request alone: filters, search, ordering, tenancy, both paginations', async () => {
      // A tree of its own beside the rows above: two roots with children and grandchildren.
      const tenancySpec: ListSpec = {
        filters: { slug: spec.filters.slug!, name: choiceFilter('name', 'name', ['a', 'b', 'c'], { multiple: true }), parent: uuidFilter('parent_id', 'parent') },
        searchColumns: ['name', 'slug'],
        orderings: { name: 'name', slug: 'slug', created_at: 'created_at' },
        defaultOrdering: '-created_at',
        idColumn: 'id',
      };
      const tree: { id: string; path: string }[] = [];
      for (let i = 0; i < 30; i++) {
        const id = newId();
        const parent = i < 2 ? undefined : tree[i % (i < 8 ? 2 : 8)]!;
        const path = `${parent?.path ?? '/'}${id}/`;
        tree.push({ id, path });
        const created_at = `2026-02-0${1 + (i % 3)}T00:00:00.000Z`;
        await store.db.insertInto('organizations').values({ id, name: ['a', 'b', 'c'][i % 3]!, slug: `t-${i % 7}-${i}`, parent_id: parent?.id ?? null, path, created_at, updated_at: created_at }).execute();
      }
      const tenancy = (path: string) => store.db.selectFrom('organizations').select(['id', 'name', 'slug', 'created_at', 'parent_id']).where('path', 'like', `${path}%`);
      const outcome = (promise: Promise<unknown>) => promise.then((value) => ({ value }), (error: Error) => ({ error: `${error.constructor.name} ${error.message} ${JSON.stringify((error as ValidationFailed).fields ?? {})}` }));
      const request = fc.record({
        tenant: fc.constantFrom(...tree.slice(0, 10).map((t) => t.path)),
        filters: fc.record(
          { slug: fc.constantFrom('t-1-8', 't-0-14', 'none'), name: fc.constantFrom('a', 'b,c', 'a,b,c', 'd'), parent: fc.constantFrom(tree[0]!.id, tree[3]!.id, 'not-a-uuid') },
          { requiredKeys: [] },
        ),
        search: fc.option(fc.constantFrom('t-1', 'T-2', '_', '%', 'a'), { nil: undefined }),
        ordering: fc.option(fc.constantFrom('name', '-name', 'slug,-created_at', '-created_at,name', 'parent'), { nil: undefined }),
        page: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        pageSize: fc.integer({ min: 1, max: 8 }),
        steps: fc.integer({ min: 0, max: 3 }),
        compiledFirst: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(request, async ({ tenant, filters, search, ordering, page, pageSize, steps, compiledFirst }) => {
          let pagination: ListRequest['pagination'] = page === undefined ? { style: 'cursor', cursor: null, pageSize } : { style: 'page', page, pageSize };
          // A cursor walk follows its links: the same shape again with other bindings.
          for (let step = 0; step <= steps; step++) {
            const listRequest = { filters: filters as Record<string, string>, search, ordering, pagination };
            const run = (compiled: boolean) => outcome(runList(store.db, tenancy(tenant), tenancySpec, listRequest, { compiled }));
            const [compiled, built] = compiledFirst ? [await run(true), await run(false)] : [await run(false), await run(true)].reverse();
            assert.deepEqual(compiled, built);
            const result = (compiled as { value?: { style: string; next?: string | null; previous?: string | null } }).value;
            const cursor = result?.style === 'cursor' ? (step % 2 && result.previous ? result.previous : result.next) : null;
            if (!cursor) break;
            pagination = { style: 'cursor', cursor, pageSize };
          }
        }),
        { numRuns: 150 },
      );
      await store.db.deleteFrom('organizations').where('id', 'in', tree.map((t) => t.id)).execute();
    });

    it('a JSON-texts filter keeps exactly the rows whose array holds every text, whatever quotes, backslashes, brackets, case or wildcards they hold', async () => {
      // Texts from an alphabet chosen to confuse a substring match of JSON text; a row's texts are stored as `name`.
      const text = fc.string({ unit: fc.constantFrom('a', 'A', '"', '\\', '[', ']', ',', '%', '_'), minLength: 1, maxLength: 4 });
      const textsSpec: ListSpec = { ...spec, filters: { texts: jsonTextsFilter('name') } };
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(text, { maxLength: 3 }), { minLength: 1, maxLength: 6 }), fc.array(text.filter((t) => !t.includes(',')), { minLength: 1, maxLength: 2 }), async (arrays, wanted) => {
          const ids = arrays.map(() => newId());
          const now = '2026-01-01T00:00:00.000Z';
          await store.db
            .insertInto('organizations')
            .values(arrays.map((texts, i) => ({ id: ids[i]!, name: JSON.stringify(texts), slug: `texts-${ids[i]}`, parent_id: null, path: `/${ids[i]}/`, created_at: now, updated_at: now })))
            .execute();
          try {
            const mine = store.db.selectFrom('organizations').select(['id', 'name', 'slug', 'created_at']).where('id', 'in', ids);
            const found = await runList<Row>(store.db, mine, textsSpec, { filters: { texts: wanted.join(',') }, pagination: { style: 'page', page: 1, pageSize: 100 } });
            const expected = ids.filter((_, i) => wanted.every((w) => arrays[i]!.includes(w))).sort();
            assert.deepEqual(found.items.map((r) => r.id).sort(), expected);
          } finally {
            await store.db.deleteFrom('organizations').where('id', 'in', ids).execute();
          }
        }),
        { numRuns: 100 },
      );
    });
  });
}
