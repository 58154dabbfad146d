#!/usr/bin/env node
// Compiles src/ into plain JavaScript under dist/ (or the directory given), one module per
// source file, so `npm start` and the `nimbus` command need no TypeScript at run time.
// Files keep their places, and the assets next to them (seccomp profile, password list, the
// spawner program) are copied beside them: every `new URL('./x', import.meta.url)` still
// resolves. Runs as `prepare`, so `npm ci` builds it.
import { cpSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist'));

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? files(full) : [full];
  });
}

const all = files(source);
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: all.filter((f) => f.endsWith('.ts')),
  outdir,
  outbase: source,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // Bundling only to rewrite imports: every import stays external, relative ones with
  // their compiled name.
  bundle: true,
  packages: 'external',
  plugins: [
    {
      name: 'compiled-relative-imports',
      setup(builder) {
        builder.onResolve({ filter: /^\.\.?\// }, (args) => (args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.ts$/, '.js'), external: true }));
      },
    },
  ],
});
for (const asset of all.filter((f) => !f.endsWith('.ts'))) cpSync(asset, path.join(outdir, path.relative(source, asset)));
