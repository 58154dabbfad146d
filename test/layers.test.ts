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

/** The modules `file` imports (type-only imports too), relative to src/. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(IMPORT)]
    .map((match) => match[1] ?? match[2]!)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => path.relative(SRC, path.resolve(path.dirname(file), specifier)));
}

/** Every module under `layer` that imports one under `forbidden`, as `importer -> imported`. */
function importsInto(layer: string, forbidden: string[]): string[] {
  return filesUnder(path.join(SRC, layer)).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.some((f) => target === f || target.startsWith(`${f}/`)))
      .map((target) => `${path.relative(SRC, file)} -> ${target}`),
  );
}

/** Import cycles among the modules of src/, each as the modules along it. */
function importCycles(): string[] {
  const graph = new Map(filesUnder(SRC).map((file) => [path.relative(SRC, file), importsOf(file)]));
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const cycles: string[] = [];
  const visit = (module: string) => {
    state.set(module, 'open');
    trail.push(module);
    for (const next of graph.get(module) ?? []) {
      if (state.get(next) === 'open') cycles.push([...trail.slice(trail.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    trail.pop();
    state.set(module, 'done');
  };
  for (const module of graph.keys()) if (!state.has(module)) visit(module);
  return cycles;
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

  it('src has no import cycle: services that need each other receive each other', () => {
    assert.deepEqual(importCycles(), []);
  });

  it('sees the imports it checks', () => {
    assert.ok(importsInto('surfaces', ['http']).length > 0);
  });
});
