import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRateLimiter } from '../../../src/core/ratelimit/rate-limiter.ts';
import type { Store } from '../../../src/store/database.ts';
import { migrateToLatest } from '../../../src/store/migrate.ts';
import { testDatabases } from '../../support/databases.ts';

for (const database of testDatabases) {
  describe(`shared rate-limit counters [${database.name}]`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await database.open());
      await migrateToLatest(store);
    });
    after(() => cleanup());

    it('adds up what two replicas count once they flush', async () => {
      // Two limiters over one database are two replicas.
      const a = createRateLimiter({ store });
      const b = createRateLimiter({ store });
      const now = Date.now();
      for (let i = 0; i < 6; i++) assert.ok(a.consume('k', 10, 60, now).allowed);
      for (let i = 0; i < 3; i++) assert.ok(b.consume('k', 10, 60, now).allowed);
      await a.flush();
      await b.flush();
      // b now knows the cluster total (9): one more is allowed, then it refuses.
      assert.equal(b.consume('k', 10, 60, now).remaining, 0);
      assert.equal(b.consume('k', 10, 60, now).allowed, false);
      // a has not heard of b's requests since its last flush: the bounded overshoot the design accepts.
      assert.ok(a.consume('k', 10, 60, now).allowed);
      await a.flush();
      assert.equal(a.consume('k', 10, 60, now).allowed, false, 'a learns the cluster total at its flush');
      await b.flush();
      const row = await store.db.selectFrom('rate_limit_counters').select('count').where('key', '=', 'k').executeTakeFirstOrThrow();
      assert.equal(Number(row.count), 11);
    });

    it('counts straight into the table for rare events, takes one back, forgets a key, and reports the window end', async () => {
      const limiter = createRateLimiter({ store });
      const now = Date.now();
      assert.equal((await limiter.hitNow('login:x', 2, 900, now)).allowed, true);
      assert.equal((await limiter.hitNow('login:x', 2, 900, now)).allowed, true);
      const third = await limiter.hitNow('login:x', 2, 900, now);
      assert.equal(third.allowed, false);
      assert.ok(third.resetSeconds >= 1 && third.resetSeconds <= 900);
      await limiter.unhitNow('login:x', 900, now);
      assert.equal((await limiter.hitNow('login:x', 3, 900, now)).remaining, 0, 'one of three taken back, then counted again');
      await limiter.clearNow('login:x');
      assert.equal((await limiter.hitNow('login:x', 2, 900, now)).remaining, 1);
      // The next window starts from zero.
      assert.equal((await limiter.hitNow('login:x', 2, 900, now + 900_000)).remaining, 1);
    });
  });
}
