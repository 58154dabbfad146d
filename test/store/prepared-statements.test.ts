import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/database.ts';
import { preparedStatement } from '../../src/store/prepared-statements.ts';
import { testPostgresUrl } from '../support/databases.ts';

describe('prepared statements [postgres]', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL' }, () => {
  let store: Store;
  const schema = `nimbus_test_${randomBytes(6).toString('hex')}`;
  const admin = () => new pg.Client({ connectionString: testPostgresUrl });

  before(async () => {
    const client = admin();
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
    // One connection, so that every statement below sees the same session's prepared statements.
    store = openStore({ postgresUrl: testPostgresUrl!, schema, poolSize: 1 });
  });
  after(async () => {
    await store?.close();
    const client = admin();
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  });

  const preparedTexts = async () => (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(store.db)).rows.map((r) => r.statement);

  it('prepares a tagged statement once per connection and runs it with each call’s values', async () => {
    const tagged = (n: number) => sql<{ n: number }>`select ${n}::int + 1 as n${preparedStatement}`.execute(store.db);
    assert.equal((await tagged(1)).rows[0]!.n, 2);
    assert.equal((await tagged(41)).rows[0]!.n, 42);
    await sql`select ${1}::int as untagged`.execute(store.db);
    const texts = await preparedTexts();
    assert.equal(texts.filter((text) => text.includes('+ 1 as n')).length, 1, texts.join('\n'));
    assert.equal(texts.some((text) => text.includes('untagged')), false);
  });

  it('stops preparing new shapes on a connection past a bound, and still runs them', async () => {
    for (let i = 0; i < 250; i++) assert.equal((await sql<{ n: number }>`select ${sql.lit(i)} as n${preparedStatement}`.execute(store.db)).rows[0]!.n, i);
    const texts = await preparedTexts();
    assert.ok(texts.length <= 200, `${texts.length} statements prepared`);
  });
});
