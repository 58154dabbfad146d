import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ForegroundWork, SparePool } from '../../src/backends/spares.ts';
import { bounded, eventually } from '../support/eventually.ts';

describe('spare pool refills and the work spares are for', () => {
  it('makes no spare while foreground work is in flight, and refills once it is done', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nimbus-spares-'));
    const foreground = new ForegroundWork();
    let made = 0;
    const pool = new SparePool(dir, async (_key, target) => {
      made++;
      writeFileSync(target, '');
    }, { perKey: 1, refillDelayMs: 10, foreground });
    try {
      let finish!: () => void;
      const start = foreground.run(() => new Promise<void>((resolve) => (finish = resolve)));
      assert.equal(await pool.take('k', path.join(dir, 'taken')), false);
      await sleep(200);
      assert.equal(made, 0, 'nothing made beside the work in flight');

      finish();
      await start;
      await eventually('the refill after the work', async () => (made === 1 ? true : undefined), 5_000);
      assert.equal(await pool.take('k', path.join(dir, 'second')), true);
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes without waiting for foreground work that has not finished', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nimbus-spares-'));
    const foreground = new ForegroundWork();
    const pool = new SparePool(dir, async (_key, target) => writeFileSync(target, ''), { perKey: 1, refillDelayMs: 10, foreground });
    void foreground.run(() => new Promise(() => undefined));
    try {
      await pool.take('k', path.join(dir, 'taken'));
      await sleep(50);
      await bounded(pool.close(), 'the pool closing', 2_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
