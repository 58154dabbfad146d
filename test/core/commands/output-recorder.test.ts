import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newId, nowIso } from '../../../src/core/clock.ts';
import { createOutputRecorder } from '../../../src/core/commands/output-recorder.ts';
import { allocateIdBlock } from '../../../src/core/compute/networks.ts';
import type { Store } from '../../../src/store/database.ts';
import { migrateToLatest } from '../../../src/store/migrate.ts';
import { BUILTIN_IMAGE_ID } from '../../../src/store/migrations/0400_compute.ts';
import { createInProcessNotifier, nextWakeUp } from '../../../src/store/notifier.ts';
import { testDatabases } from '../../support/databases.ts';

/** Each network a subnet of its own (subnets are unique): one more per command made. */
let subnets = 0;

/** The rows a command hangs on (organization, network, server), and a queued command. */
async function insertCommand(store: Store): Promise<string> {
  const now = nowIso();
  const organization = newId();
  const network = newId();
  const server = newId();
  const command = newId();
  const path = `/${organization}/`;
  await store.db.insertInto('organizations').values({ id: organization, name: 'Recorder', slug: `recorder-${organization.slice(0, 8)}`, parent_id: null, path, created_at: now, updated_at: now }).execute();
  await store.db.insertInto('networks').values({ id: network, organization_id: organization, bridge: `nb${network.slice(0, 12)}`, subnet: `10.99.${subnets++}.0/24`, gateway: '10.99.0.1', created_at: now }).execute();
  await store.db
    .insertInto('servers')
    .values({
      id: server, organization_id: organization, organization_path: path, name: 'rec', hostname: 'rec', image_id: BUILTIN_IMAGE_ID, vcpus: 1, memory_bytes: 1 << 28,
      state: 'running', state_detail: '', network_id: network, private_ip: '10.99.0.2', root_volume_id: newId(), tags: '[]', facts: null, facts_updated_at: null,
      host: 'test', id_block: await allocateIdBlock(store.db), revision: 1, created_at: now, updated_at: now,
    })
    .execute();
  await store.db
    .insertInto('commands')
    .values({
      id: command, organization_id: organization, organization_path: path, server_id: server, shell: 'system', line: 'yes', env: '{}', username: 'root', groupname: '',
      run_after: '[]', status: 'running', success: null, exit_code: null, result: null, elapsed_time: null, task_id: newId(), requested_by: null, created_at: now, started_at: now, finished_at: null,
    })
    .execute();
  return command;
}

const chunksOf = (store: Store, command: string) => store.db.selectFrom('command_chunks').selectAll().where('command_id', '=', command).orderBy('seq').execute();

for (const database of testDatabases) {
  describe(`command output recorder [${database.name}]`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await database.open());
      await migrateToLatest(store);
    });
    after(() => cleanup());

    it('batches a chatty output into few chunks, in order, numbered from 0 without a gap', async () => {
      const command = await insertCommand(store);
      const recorder = createOutputRecorder(store.db, createInProcessNotifier(), command, { flushMs: 50, chunkChars: 1000, tailChars: 100, limitChars: 1_000_000 });
      let expected = '';
      for (let i = 0; i < 5000; i++) {
        const piece = `${i % 10}`;
        expected += piece;
        await recorder.write(piece);
      }
      await recorder.close();
      const rows = await chunksOf(store, command);
      assert.deepEqual(rows.map((r) => Number(r.seq)), rows.map((_, i) => i));
      assert.equal(rows.map((r) => r.content).join(''), expected);
      assert.ok(rows.length <= 10, `${rows.length} chunks for 5000 one-character writes`);
      assert.ok(rows.every((r) => r.content.length <= 1000));
      assert.equal(recorder.tail(), expected.slice(-100));
    });

    it('stores a quiet output within the flush interval, waking the followers, and replaces NUL characters', async () => {
      const command = await insertCommand(store);
      const notifier = createInProcessNotifier();
      const recorder = createOutputRecorder(store.db, notifier, command, { flushMs: 30, chunkChars: 1000, tailChars: 100, limitChars: 1_000_000 });
      const woken = nextWakeUp(notifier, ['command_output'], 5_000);
      const started = Date.now();
      await recorder.write('a\u0000b\n');
      await woken;
      assert.ok(Date.now() - started < 2_000, 'woken by the write, not by the timeout');
      // The in-process wake-up may overtake the COMMIT on a pooled PostgreSQL connection.
      let contents: string[] = [];
      for (let i = 0; i < 100 && contents.length === 0; i++) {
        contents = (await chunksOf(store, command)).map((r) => r.content);
        if (contents.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(contents, ['a\uFFFDb\n']);
      await recorder.close();
      assert.equal((await chunksOf(store, command)).length, 1);
    });

    it('splits one large piece of output into chunks of the bounded size', async () => {
      const command = await insertCommand(store);
      const recorder = createOutputRecorder(store.db, createInProcessNotifier(), command, { flushMs: 1000, chunkChars: 100, tailChars: 50, limitChars: 1_000_000 });
      const text = 'x'.repeat(250);
      await recorder.write(text);
      await recorder.close();
      assert.deepEqual((await chunksOf(store, command)).map((r) => r.content.length), [100, 100, 50]);
    });

    it('keeps only the end of an output past the limit, counting what it cut on the command', async () => {
      const command = await insertCommand(store);
      const recorder = createOutputRecorder(store.db, createInProcessNotifier(), command, { flushMs: 1000, chunkChars: 100, tailChars: 50, limitChars: 350 });
      let expected = '';
      for (let i = 0; i < 20; i++) {
        const piece = String(i % 10).repeat(70);
        expected += piece;
        await recorder.write(piece);
      }
      await recorder.close();
      const rows = await chunksOf(store, command);
      const kept = rows.map((r) => r.content).join('');
      assert.ok(kept.length <= 350 && kept.length > 250, `${kept.length} characters kept`);
      assert.ok(expected.endsWith(kept), 'the end of the output is what is kept');
      const seqs = rows.map((r) => Number(r.seq));
      assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), 'the kept chunks keep their numbers, without a gap');
      assert.equal(seqs.at(-1), recorder.chunkCount() - 1);
      const { output_cut } = await store.db.selectFrom('commands').select('output_cut').where('id', '=', command).executeTakeFirstOrThrow();
      assert.equal(Number(output_cut), expected.length - kept.length);
      assert.equal(recorder.cutChars(), expected.length - kept.length);
    });
  });
}
