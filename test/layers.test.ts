import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const SRC = path.resolve(import.meta.dirname, '../src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : /\.[cm]?[jt]s$/.test(entry.name) ? [full] : [];
  });
}

/** Every module under `layer` that imports one under `forbidden`, as `importer -> imported`. */
function importsInto(layer: string, forbidden: string[]): string[] {
  const found: string[] = [];
  for (const file of filesUnder(path.join(SRC, layer))) {
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2]!;
      if (!specifier.startsWith('.')) continue;
      const target = path.relative(SRC, path.resolve(path.dirname(file), specifier));
      if (forbidden.some((f) => target === f || target.startsWith(`${f}/`))) found.push(`${path.relative(SRC, file)} -> ${target}`);
    }
  }
  return found;
}

/** Dependencies point downwards only: surfaces -> http -> core -> store and backends. */
describe('layers', () => {
  for (const layer of ['core', 'store', 'backends']) {
    it(`src/${layer} imports no HTTP machinery, surface or composition root`, () => {
      assert.deepEqual(importsInto(layer, ['http', 'surfaces', 'app.ts', 'cli']), []);
    });
  }

  it('src/http imports no surface and not the composition root', () => {
    assert.deepEqual(importsInto('http', ['surfaces', 'app.ts', 'cli']), []);
  });

  it('sees the imports it checks', () => {
    assert.ok(importsInto('surfaces', ['http']).length > 0);
  });
});
