import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Actor } from '../../../src/core/actor.ts';
import { createCapabilities } from '../../../src/core/capabilities/capabilities.ts';
import { createLogService, LOG_LINE_MAX, type AppLogLine } from '../../../src/core/apps/log-service.ts';
import { createLongRequests } from '../../../src/core/long-requests.ts';
import { createSecretBox } from '../../../src/core/secrets/secret-box.ts';
import * as chunksMigration from '../../../src/store/migrations/0870_app_log_chunks.ts';
import { startTestApp, TEST_SECRET_KEY, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { actorFor } from '../../support/identity.ts';

const LINES_KEPT = 12;

for (const database of testDatabases) {
  describe(`app logs: the bounded store [${database.name}]`, () => {
    let app: TestApp;
    let admin: Actor;
    const closing = new AbortController();

    /** A log service over the test app's store, keeping `linesPerApp` lines per app: a replica of its own. */
    const replica = (linesPerApp = LINES_KEPT) =>
      createLogService({
        store: app.nimbus.store,
        apps: app.nimbus.services.apps.apps,
        settings: { linesPerApp },
        closing: closing.signal,
        longRequests: createLongRequests({ perCredential: 4, perProcess: 8 }),
        capabilities: createCapabilities(createSecretBox(TEST_SECRET_KEY)),
      });
    const newApp = async (name: string): Promise<string> => {
      const created = await app.request({ method: 'POST', url: '/api/apps/apps/', payload: { name } });
      assert.equal(created.statusCode, 201, created.body);
      return created.json().id;
    };
    const numbered = (lines: AppLogLine[]) => lines.map((l) => `${l.seq}:${l.source}:${l.line}`);
    const written = (from: number, to: number, source = 'web-1') => Array.from({ length: to - from + 1 }, (_, i) => ({ source, line: `line ${from + i}` }));

    before(async () => {
      app = await startTestApp(database);
      admin = await actorFor(app, app.token);
    });
    after(async () => {
      closing.abort();
      await app.close();
    });

    it('keeps the last lines only, numbered one after the other, whatever the batches', async () => {
      const logs = replica();
      const appId = await newApp('bounded-logs');
      await logs.append(appId, written(1, 5));
      await logs.append(appId, written(6, 8));
      // More lines in one batch than a stored row holds, and than are kept.
      await logs.append(appId, written(9, 1_234));
      await logs.append(appId, written(1_235, 1_240, 'router'));
      const kept = await logs.tail(admin, appId, 100);
      assert.deepEqual(numbered(kept), [
        ...written(1_229, 1_234).map((l, i) => `${1_229 + i}:web-1:${l.line}`),
        ...written(1_235, 1_240).map((l, i) => `${1_235 + i}:router:${l.line}`),
      ]);
      assert.deepEqual(numbered(await logs.tail(admin, appId, 2)), ['1239:router:line 1239', '1240:router:line 1240']);
      for (const line of kept) assert.match(line.created_at, /^\d{4}-\d\d-\d\dT/);
    });

    it('takes a backlog of hundreds of thousands of lines at once (a router catching up) without a throw', async () => {
      const logs = replica();
      const appId = await newApp('backlog-logs');
      const first = logs.append(appId, written(1, 1));
      // Joins the batch still waiting to be written.
      const backlog = logs.append(appId, Array.from({ length: 300_000 }, (_, i) => ({ source: 'router', line: `GET /${i}` })));
      await Promise.all([first, backlog]);
      const kept = await logs.tail(admin, appId, 2);
      assert.deepEqual(numbered(kept), ['300000:router:GET /299998', '300001:router:GET /299999']);
    });

    it('keeps the time a line was written, and cuts a line over the maximum', async () => {
      const logs = replica();
      const appId = await newApp('timed-logs');
      await logs.append(appId, [{ source: 'router', line: 'GET /', at: '2026-01-02T03:04:05.678Z' }, { source: 'web-1', line: 'x'.repeat(LOG_LINE_MAX + 10) }]);
      const [first, second] = await logs.tail(admin, appId, 10);
      assert.equal(first!.created_at, '2026-01-02T03:04:05.678Z');
      assert.equal(second!.line.length, LOG_LINE_MAX);
    });

    it('gives a follower every line after its position once, in order, across rows', async () => {
      const logs = replica();
      const appId = await newApp('followed-logs');
      await logs.append(appId, written(1, 3));
      const signal = new AbortController();
      const batches = await logs.follow(admin, appId, { afterSeq: 1, n: 10, signal: signal.signal, idleMs: 60_000 });
      const seen: string[] = [];
      const reading = (async () => {
        for await (const batch of batches) {
          seen.push(...numbered(batch));
          if (seen.length >= 9) signal.abort();
        }
      })();
      await logs.append(appId, written(4, 6, 'worker-1'));
      await logs.append(appId, written(7, 10, 'router'));
      await reading;
      assert.deepEqual(seen, [
        ...[2, 3].map((n) => `${n}:web-1:line ${n}`),
        ...[4, 5, 6].map((n) => `${n}:worker-1:line ${n}`),
        ...[7, 8, 9, 10].map((n) => `${n}:router:line ${n}`),
      ]);
    });

    it('numbers the lines of two replicas writing at once without a gap or a line twice', async () => {
      const [one, two] = [replica(), replica()];
      const appId = await newApp('replicated-logs');
      await Promise.all([
        ...Array.from({ length: 4 }, (_, i) => one.append(appId, [{ source: 'web-1', line: `one ${i}` }])),
        ...Array.from({ length: 4 }, (_, i) => two.append(appId, [{ source: 'web-2', line: `two ${i}` }])),
      ]);
      await Promise.all([one.append(appId, written(1, 2)), two.append(appId, written(3, 4, 'web-2'))]);
      const kept = await one.tail(admin, appId, 100);
      assert.deepEqual(kept.map((l) => l.seq), Array.from({ length: LINES_KEPT }, (_, i) => i + 1));
      assert.equal(new Set(kept.map((l) => l.line)).size, LINES_KEPT);
    });

    it('keeps every line through the migration to rows of lines and back', async () => {
      const logs = replica(10_000);
      const appId = await newApp('migrated-logs');
      await logs.append(appId, written(1, 3));
      await logs.append(appId, [{ source: 'router', line: 'a "quoted" line\twith a tab', at: '2026-01-02T03:04:05.678Z' }, ...written(5, 700, 'worker-1')]);
      const before = await logs.tail(admin, appId, 1_000);
      assert.equal(before.length, 700);
      const { db } = app.nimbus.store;
      await db.transaction().execute(async (trx) => {
        await chunksMigration.down(trx as never);
        await chunksMigration.up(trx as never);
      });
      assert.deepEqual(await logs.tail(admin, appId, 1_000), before);
      const rows = await db.selectFrom('app_log_chunks').select(['first_seq', 'last_seq']).where('app_id', '=', appId).orderBy('first_seq').execute();
      assert.deepEqual(rows.map((r) => [Number(r.first_seq), Number(r.last_seq)]), [[1, 500], [501, 700]]);
    });

    it('keeps the lines NIMBUS_APP_LOG_LINES says', async () => {
      const configured = await startTestApp(database, { appLogLines: 100 });
      try {
        const created = await configured.request({ method: 'POST', url: '/api/apps/apps/', payload: { name: 'configured-logs' } });
        const appId = created.json().id;
        await configured.nimbus.services.apps.logs.append(appId, written(1, 130));
        const kept = await configured.nimbus.services.apps.logs.tail(await actorFor(configured, configured.token), appId, 1_000);
        assert.deepEqual(kept.map((l) => l.seq), Array.from({ length: 100 }, (_, i) => i + 31));
      } finally {
        await configured.close();
      }
    });

    it('reads nothing for an app that logged nothing, and forgets the lines of a deleted app', async () => {
      const logs = replica();
      const appId = await newApp('quiet-logs');
      assert.deepEqual(await logs.tail(admin, appId, 5), []);
      await logs.append(appId, written(1, 3));
      await app.nimbus.store.db.deleteFrom('apps').where('id', '=', appId).execute();
      const left = await app.nimbus.store.db.selectFrom('app_log_chunks').select('app_id').where('app_id', '=', appId).execute();
      assert.deepEqual(left, []);
    });
  });
}
