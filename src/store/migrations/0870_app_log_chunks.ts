import type { Kysely } from 'kysely';

// An app's log lines are stored a batch to a row: a row per line cost a busy router's control
// plane more per request than nginx spent proxying it (each row written and later deleted, in
// two b-trees). A chunk holds consecutive lines `first_seq`..`last_seq` as a JSON array of
// [created_at, source, line].

interface Line {
  app_id: string;
  seq: number | string;
  source: string;
  line: string;
  created_at: string;
}
interface Chunk {
  app_id: string;
  first_seq: number;
  last_seq: number;
  lines: string;
}
type Tables = { app_log_lines: Line; app_log_chunks: Chunk };

const LINES_PER_CHUNK = 500;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_log_chunks')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('first_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('lines', 'text', (c) => c.notNull())
    // Two writers that read the same last line try the same first one: the second is refused and takes the next.
    .addPrimaryKeyConstraint('app_log_chunks_pk', ['app_id', 'first_seq'])
    .execute();
  await db.schema.createIndex('app_log_chunks_last').on('app_log_chunks').columns(['app_id', 'last_seq']).execute();

  const store = db as Kysely<Tables>;
  const apps = await store.selectFrom('app_log_lines').select('app_id').distinct().execute();
  for (const { app_id } of apps) {
    const lines = await store.selectFrom('app_log_lines').selectAll().where('app_id', '=', app_id).orderBy('seq').execute();
    let chunk: Line[] = [];
    const flush = async () => {
      if (!chunk.length) return;
      const first = Number(chunk[0]!.seq);
      await store.insertInto('app_log_chunks').values({ app_id, first_seq: first, last_seq: first + chunk.length - 1, lines: JSON.stringify(chunk.map((l) => [l.created_at, l.source, l.line])) }).execute();
      chunk = [];
    };
    for (const line of lines) {
      // A chunk's lines are numbered one after the other.
      if (chunk.length === LINES_PER_CHUNK || (chunk.length && Number(line.seq) !== Number(chunk.at(-1)!.seq) + 1)) await flush();
      chunk.push(line);
    }
    await flush();
  }
  await db.schema.dropTable('app_log_lines').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('app_log_lines')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('line', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_log_lines_pk', ['app_id', 'seq'])
    .execute();
  const store = db as Kysely<Tables>;
  for (const chunk of await store.selectFrom('app_log_chunks').selectAll().execute()) {
    const lines = JSON.parse(chunk.lines) as [string, string, string][];
    const first = Number(chunk.first_seq);
    for (let i = 0; i < lines.length; i += LINES_PER_CHUNK) {
      const rows = lines.slice(i, i + LINES_PER_CHUNK).map(([created_at, source, line], j) => ({ app_id: chunk.app_id, seq: first + i + j, source, line, created_at }));
      await store.insertInto('app_log_lines').values(rows).execute();
    }
  }
  await db.schema.dropTable('app_log_chunks').execute();
}
