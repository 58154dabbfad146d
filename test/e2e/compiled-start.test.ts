import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { firstStart } from '../support/first-start.ts';

// The production build (what `npm ci` runs as `prepare`), compiled into a directory of the
// test's own beside the project's package.json and node_modules, as dist/ sits in an install.
const root = path.resolve(import.meta.dirname, '../..');
const install = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-build-'));
const dist = path.join(install, 'dist');

function sourceAssets(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceAssets(full);
    return entry.name.endsWith('.ts') ? [] : [path.relative(path.join(root, 'src'), full)];
  });
}

describe('the compiled production start', () => {
  before(() => {
    fs.copyFileSync(path.join(root, 'package.json'), path.join(install, 'package.json'));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(install, 'node_modules'));
    const built = spawnSync(process.execPath, [path.join(root, 'scripts/build.js'), dist], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
  });
  after(() => fs.rmSync(install, { recursive: true, force: true }));

  it('runs plain JavaScript: serves a fresh SQLite install until /readyz answers, migrations included', async () => {
    assert.equal(fs.readdirSync(dist, { recursive: true }).filter((f) => String(f).endsWith('.ts')).length, 0);
    const server = firstStart(process.execPath, [path.join(dist, 'cli/main.js')], { NIMBUS_DATA_DIR: path.join(install, 'data') });
    try {
      const { base, token } = await server.ready;
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      const organizations = await fetch(`${base}/api/iam/organizations/`, { headers: { authorization: `token="${token}"` } });
      assert.equal(organizations.status, 200);
    } finally {
      await server.stop();
    }
  });

  it('keeps every asset beside its module, where the module looks for it', async () => {
    const assets = sourceAssets(path.join(root, 'src'));
    assert.ok(assets.includes(path.join('backends', 'runc', 'seccomp.json')));
    for (const asset of assets) assert.ok(fs.existsSync(path.join(dist, asset)), `${asset} is missing from the build`);
    const bundle = await import(pathToFileURL(path.join(dist, 'backends/runc/bundle.js')).href);
    assert.equal(bundle.seccompFilter().defaultAction, 'SCMP_ACT_ERRNO');
  });

  it('reports the package version', () => {
    const version = spawnSync(process.execPath, [path.join(dist, 'cli/main.js'), '--version'], { encoding: 'utf8' });
    assert.equal(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });
});
