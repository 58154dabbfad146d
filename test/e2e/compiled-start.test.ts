import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

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
    const dataDir = path.join(install, 'data');
    const child = spawn(process.execPath, [path.join(dist, 'cli/main.js'), 'serve', '--port', '0', '--data-dir', dataDir], {
      env: { ...process.env, NIMBUS_LOG_LEVEL: 'info', NIMBUS_DNS_PORT: '0', NIMBUS_DATABASE_URL: '', NIMBUS_PORT: '', NIMBUS_ADMIN_PASSWORD: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      let output = '';
      // Listening comes first, then the bootstrap of the empty database prints the token.
      const [base, token] = await new Promise<[string, string]>((resolve, reject) => {
        const read = (chunk: Buffer) => {
          output += chunk;
          const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          const printed = /admin API token: (\S+)\n/.exec(output);
          if (listening && printed) resolve([listening[1]!, printed[1]!]);
        };
        child.stdout!.on('data', read);
        child.stderr!.on('data', read);
        void exited.then((code) => reject(new Error(`the compiled nimbus exited with ${code}:\n${output}`)));
      });
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      const organizations = await fetch(`${base}/api/iam/organizations/`, { headers: { authorization: `token="${token}"` } });
      assert.equal(organizations.status, 200);
    } finally {
      child.kill('SIGTERM');
      await exited;
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
