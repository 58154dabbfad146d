import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../../../src/core/actor.ts';
import { createEventService, type NewEvent } from '../../../src/core/events/event-service.ts';
import type { ListRequest } from '../../../src/core/listing.ts';
import { migrateToLatest } from '../../../src/store/migrate.ts';
import { createInProcessNotifier } from '../../../src/store/notifier.ts';
import { createLongRequests } from '../../../src/core/long-requests.ts';
import { testDatabases, testPostgresUrl } from '../../support/databases.ts';

const everything: Actor = {
  principal: { userId: 'u', username: 'u', organizationId: 'o', organizationPath: '/', isSuperuser: true, isStaff: true, credentialId: 'c', credentialKind: 'personal', scopes: ['*'] },
  organizationId: 'o',
  organizationPath: '/',
  permissions: new Set(['event:read']),
  requestId: 'r',
  clientAddress: '127.0.0.1',
};
const oldestFirst: ListRequest = { filters: {}, ordering: 'id', pagination: { style: 'cursor', cursor: null, pageSize: 100 } };
const event = (name: string): NewEvent => ({ type: 'test.happened', organizationId: 'o', organizationPath: '/o/', actor: null, data: { name } });

const postgres = testDatabases.find((d) => d.name === 'postgres')!;

// Two transactions open at once need two connections: the real server, not the embedded one.
describe('event ids follow commit order [postgres]', { skip: testPostgresUrl ? false : 'needs NIMBUS_TEST_DATABASE_URL' }, () => {
  it('gives an event whose transaction commits late a later id, so a reader that went past never misses it', async () => {
    const { store, cleanup } = await postgres.open();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let slow: Promise<void> = Promise.resolve();
    try {
      await migrateToLatest(store);
      const events = createEventService({ store, notifier: createInProcessNotifier(), longRequests: createLongRequests({ perCredential: 10, perProcess: 10 }) });
      let written!: () => void;
      const slowWrote = new Promise<void>((resolve) => (written = resolve));
      slow = store.db.transaction().execute(async (trx) => {
        await events.record(trx, event('slow'));
        written();
        await gate;
      });
      await slowWrote;
      await store.db.transaction().execute((trx) => events.record(trx, event('fast')));

      const before = (await events.list(everything, oldestFirst)).items;
      assert.deepEqual(before.map((e) => (e.data as { name: string }).name), ['fast']);
      const readerPosition = before[0]!.id;

      release();
      await slow;
      const after = (await events.list(everything, oldestFirst)).items;
      assert.deepEqual(after.map((e) => (e.data as { name: string }).name), ['fast', 'slow']);
      assert.ok(after[1]!.id > readerPosition, 'the late commit is numbered after what readers have already seen');
    } finally {
      // A failed assertion must not leave the slow transaction open: the pool could never close.
      release();
      await slow.catch(() => undefined);
      await cleanup();
    }
  });
});
