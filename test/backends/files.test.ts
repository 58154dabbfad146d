import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { walkTree, WALK_SLICE } from '../../src/backends/files.ts';

describe('walkTree', () => {
  it('visits every entry once, parents before children, never through a symlink, and lets other work run between slices', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nimbus-walk-'));
    const outside = mkdtempSync(path.join(os.tmpdir(), 'nimbus-walk-outside-'));
    try {
      const wide = path.join(dir, 'wide');
      mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
      mkdirSync(wide);
      writeFileSync(path.join(dir, 'a', 'b', 'deep'), '');
      writeFileSync(path.join(outside, 'hidden'), '');
      symlinkSync(outside, path.join(dir, 'a', 'link'));
      const files = 4 * WALK_SLICE;
      for (let i = 0; i < files; i++) writeFileSync(path.join(wide, String(i)), '');

      // A turn of the event loop counted while the walk runs: a slice at a time, others get theirs.
      let turns = 0;
      let walking = true;
      const tick = () => {
        turns++;
        if (walking) setImmediate(tick);
      };
      setImmediate(tick);
      const seen: string[] = [];
      const turnsSeenInWide = new Set<number>();
      await walkTree(dir, (full) => {
        const entry = path.relative(dir, full);
        seen.push(entry);
        if (entry.startsWith('wide/')) turnsSeenInWide.add(turns);
      });
      walking = false;

      assert.equal(seen.length, new Set(seen).size, 'each entry once');
      assert.deepEqual(seen.filter((entry) => !entry.startsWith('wide/')).sort(), ['a', 'a/b', 'a/b/deep', 'a/link', 'wide']);
      assert.equal(seen.filter((entry) => entry.startsWith('wide/')).length, files);
      assert.ok(seen.indexOf('a') < seen.indexOf('a/b') && seen.indexOf('a/b') < seen.indexOf('a/b/deep'));
      // The one directory's entries are looked at over several turns: never all in one.
      assert.ok(turnsSeenInWide.size >= 4, `a directory of ${files} files was walked in ${turnsSeenInWide.size} turns of the event loop`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
