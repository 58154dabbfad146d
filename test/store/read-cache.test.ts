import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { newId } from '../../src/core/clock.ts';
import { choiceFilter, runList, uuidFilter, type ListRequest, type ListSpec } from '../../src/core/listing.ts';
import type { Store } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { isCacheableRead, SqliteReadCache } from '../../src/store/sqlite-read-cache.ts';
import { testDatabases, type OpenedDatabase } from '../support/databases.ts';

describe('SQLite read cache rules', () => {
  const read = (cache: SqliteReadCache, parameters: unknown[], rows: unknown[][]) => {
    let executed = 0;
    const answer = cache.read('select x from t where y = ?', parameters, () => (executed++, rows));
    return { answer, executed };
  };

  it('keeps an answer until this connection changes anything or another connection commits', () => {
    let dataVersion = 1;
    const cache = new SqliteReadCache(() => dataVersion);
    assert.equal(read(cache, [1], [['a']]).executed, 1);
    assert.deepEqual(read(cache, [1], [['b']]), { answer: [['a']], executed: 0 });
    // The same SQL with other values, or values of another type, is another answer.
    assert.equal(read(cache, [2], [['c']]).executed, 1);
    assert.equal(read(cache, ['1'], [['d']]).executed, 1);
    cache.changing();
    assert.deepEqual(read(cache, [1], [['e']]), { answer: [['e']], executed: 1 });
    dataVersion = 2;
    assert.deepEqual(read(cache, [1], [['f']]), { answer: [['f']], executed: 1 });
    assert.deepEqual(read(cache, [1], [['g']]), { answer: [['f']], executed: 0 });
  });

  it('never keeps blobs (a caller could change them), heavy answers, or BigInt parameters, and bounds what it keeps', () => {
    const cache = new SqliteReadCache(() => 1);
    read(cache, [1], [[Buffer.from('x')]]);
    assert.equal(read(cache, [1], [[Buffer.from('x')]]).executed, 1);
    // One long text weighs what it holds: over 256 KiB it is read anew each time.
    const heavy = [['x'.repeat(256 * 1024)]];
    read(cache, [2], heavy);
    assert.equal(read(cache, [2], heavy).executed, 1);
    read(cache, [3n], [['a']]);
    assert.equal(read(cache, [3n], [['a']]).executed, 1);
    // 4 MiB in all: the seventeenth answer of about 255 KiB pushes out the first.
    const answer = [['y'.repeat(255 * 1024)]];
    for (let i = 0; i < 17; i++) read(cache, [`p${i}`], answer);
    assert.equal(read(cache, ['p16'], answer).executed, 0);
    assert.equal(read(cache, ['p1'], answer).executed, 0);
    assert.equal(read(cache, ['p0'], answer).executed, 1);
  });

  it('keeps only plain reads that depend on nothing but the database', () => {
    const statement = (source: string, reader = true, readonly = true) => ({ source, reader, readonly });
    assert.equal(isCacheableRead(statement('select "id" from "organizations" where "path" like ?')), true);
    assert.equal(isCacheableRead(statement('with t as (select 1) select * from t')), true);
    assert.equal(isCacheableRead(statement('select "created_at", "updated_time" from "t"')), true);
    for (const source of ['select random()', 'select datetime(\'now\')', "select strftime('%s')", 'select CURRENT_TIMESTAMP', 'select last_insert_rowid()', 'select changes ()']) {
      assert.equal(isCacheableRead(statement(source)), false, source);
    }
    assert.equal(isCacheableRead(statement('insert into t values (1) returning *', true, false)), false);
    assert.equal(isCacheableRead(statement('pragma data_version')), false);
    assert.equal(isCacheableRead(statement('begin', false)), false);
  });
});

const spec: ListSpec = {
  filters: { name: choiceFilter('name', 'name', ['a', 'b', 'c'], { multiple: true }), parent: uuidFilter('parent_id', 'parent') },
  searchColumns: ['name', 'slug'],
  orderings: { name: 'name', slug: 'slug', created_at: 'created_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

for (const database of testDatabases) {
  describe(`reads answered from memory [${database.name}]`, () => {
    let opened: OpenedDatabase;
    let store: Store;
    let other: Store;
    // The organizations the test made, as a tree: a list's tenancy is a path prefix.
    const tree: { id: string; path: string }[] = [];

    before(async () => {
      opened = await database.open();
      ({ store } = opened);
      await migrateToLatest(store);
      other = opened.another();
    });
    after(() => opened.cleanup());

    const insert = async (on: Store, parentIndex: number, name: string) => {
      const parent = tree.length ? tree[parentIndex % tree.length] : undefined;
      const id = newId();
      const path = `${parent?.path ?? '/'}${id}/`;
      const at = new Date(Date.UTC(2026, 0, 1 + tree.length)).toISOString();
      await on.db.insertInto('organizations').values({ id, name, slug: `s-${id}`, parent_id: parent?.id ?? null, path, created_at: at, updated_at: at }).execute();
      tree.push({ id, path });
    };
    const tenancy = (on: Store, path: string) => on.db.selectFrom('organizations').select(['id', 'name', 'slug', 'parent_id', 'created_at']).where('path', 'like', `${path}%`);
    const outcome = (promise: Promise<unknown>) => promise.then((value) => ({ value }), (error: Error) => ({ error: `${error.constructor.name} ${error.message}` }));

    it('answers a read anew after a write of this store, a commit of another connection, and a rollback', async () => {
      const names = async (on: Pick<Store, 'db'> = store) => (await on.db.selectFrom('organizations').select('name').where('name', 'like', 'x-%').orderBy('name').execute()).map((row) => row.name);
      assert.deepEqual(await names(), []);
      await insert(store, 0, 'x-own');
      assert.deepEqual(await names(), ['x-own']);
      await insert(other, 0, 'x-other');
      assert.deepEqual(await names(), ['x-other', 'x-own']);
      const undo = new Error('undo');
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await trx.updateTable('organizations').set({ name: 'x-rolled-back' }).where('id', '=', tree.at(-1)!.id).execute();
          assert.deepEqual(await names({ db: trx }), ['x-own', 'x-rolled-back']);
          throw undo;
        }),
        undo,
      );
      assert.deepEqual(await names(), ['x-other', 'x-own']);
    });

    it('a read answers what the database holds after writes of this store, of another connection, and writes rolled back', async () => {
      for (let i = 0; i < 6; i++) await insert(store, i - 2, ['a', 'b', 'c'][i % 3]!);
      const pick = fc.nat();
      const name = fc.constantFrom('a', 'b', 'c');
      const step = fc.oneof(
        fc.record({ kind: fc.constant('insert' as const), viaOther: fc.boolean(), parent: pick, name }),
        fc.record({ kind: fc.constant('rename' as const), viaOther: fc.boolean(), row: pick, name }),
        fc.record({ kind: fc.constant('delete-leaf' as const), viaOther: fc.boolean() }),
        fc.record({ kind: fc.constant('rolled-back' as const), row: pick, name }),
        fc.record({
          kind: fc.constant('list' as const),
          // The root (all of the tree) or one of the first organizations under it: most writes show.
          tenant: fc.constantFrom(0, 0, 1, 2),
          filters: fc.record({ name: fc.constantFrom('a', 'b,c', 'd'), parent: pick.map((i) => tree[i % tree.length]!.id) }, { requiredKeys: [] }),
          search: fc.option(fc.constantFrom('a', 's-', '%'), { nil: undefined }),
          ordering: fc.option(fc.constantFrom('name', '-created_at', 'slug,name'), { nil: undefined }),
          page: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
          // Small pages, and pages holding the whole list, where any change shows.
          pageSize: fc.constantFrom(2, 5, 100),
        }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 16 }), async (steps) => {
          const asked: { tenant: string; request: ListRequest }[] = [];
          for (const s of steps) {
            if (s.kind === 'insert') await insert(s.viaOther ? other : store, s.parent, s.name);
            else if (s.kind === 'rename') {
              const row = tree[s.row % tree.length]!;
              await (s.viaOther ? other : store).db.updateTable('organizations').set({ name: s.name }).where('id', '=', row.id).execute();
            } else if (s.kind === 'delete-leaf' && tree.length > 6) {
              // The newest organization has no children: nothing was made under it after it.
              const leaf = tree.pop()!;
              await (s.viaOther ? other : store).db.deleteFrom('organizations').where('id', '=', leaf.id).execute();
            } else if (s.kind === 'rolled-back') {
              const row = tree[s.row % tree.length]!;
              const rolledBack = new Error('rolled back');
              await assert.rejects(
                store.db.transaction().execute(async (trx) => {
                  await trx.updateTable('organizations').set({ name: `${s.name}-x` }).where('id', '=', row.id).execute();
                  // Read inside the transaction: it sees its own write, which must not outlive it.
                  const seen = await trx.selectFrom('organizations').select('name').where('id', '=', row.id).executeTakeFirstOrThrow();
                  assert.equal(seen.name, `${s.name}-x`);
                  throw rolledBack;
                }),
                rolledBack,
              );
            } else if (s.kind === 'list') {
              const pagination: ListRequest['pagination'] = s.page === undefined ? { style: 'cursor', cursor: null, pageSize: s.pageSize } : { style: 'page', page: s.page, pageSize: s.pageSize };
              asked.unshift({ tenant: tree[s.tenant]!.path, request: { filters: s.filters, search: s.search, ordering: s.ordering, pagination } });
              asked.length = Math.min(asked.length, 4);
            }
            // Every list asked lately, asked again after each step: a stale answer would show.
            for (const { tenant, request } of asked) {
              // Twice on this store (the second may come from memory), once from the database itself.
              const first = await outcome(runList(store.db, tenancy(store, tenant), spec, request));
              const again = await outcome(runList(store.db, tenancy(store, tenant), spec, request));
              const truth = await outcome(runList(other.db, tenancy(other, tenant), spec, request));
              assert.deepEqual(first, truth);
              assert.deepEqual(again, truth);
            }
          }
        }),
        { numRuns: 60 },
      );
    });

    it('answers a read that depends on chance anew each time', async () => {
      const draw = async () => (await sql<{ value: number }>`select random() as value`.execute(store.db)).rows[0]!.value;
      const draws = new Set([await draw(), await draw(), await draw()]);
      assert.equal(draws.size, 3);
    });

    it('gives every caller rows of its own: changing one changes no later answer', async () => {
      const row = tree[0]!;
      const read = () => store.db.selectFrom('organizations').select(['id', 'name']).where('id', '=', row.id).executeTakeFirstOrThrow();
      const first = await read();
      const name = first.name;
      first.name = 'changed by a caller';
      assert.equal((await read()).name, name);
    });
  });
}
