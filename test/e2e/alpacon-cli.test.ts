import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { spawn as spawnPty } from '@lydell/node-pty';
import type { TestApp } from '../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../support/compute.ts';
import { testDatabases } from '../support/databases.ts';
import { eventually } from '../support/eventually.ts';

/**
 * Alpacon's own CLI (github.com/alpacax/alpacon-cli, pinned) against a real Nimbus, as a real
 * process: it is built once with `go install` into a cache outside the repository
 * (`$XDG_CACHE_HOME/nimbus` or `~/.cache/nimbus`), or taken from `NIMBUS_ALPACON_CLI` (a binary of
 * the same version built elsewhere). Without Go or the module the test says so and is skipped;
 * the contract suite (test/surfaces/native/alpacon/) still checks every type the CLI decodes.
 */
const MODULE = 'github.com/alpacax/alpacon-cli';
const VERSION = 'v1.11.1';

function alpaconBinary(): { binary: string } | { skip: string } {
  if (process.env.NIMBUS_ALPACON_CLI) return { binary: process.env.NIMBUS_ALPACON_CLI };
  const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'nimbus', 'alpacon-cli', VERSION);
  const binary = path.join(cache, 'alpacon-cli');
  if (fs.existsSync(binary)) return { binary };
  if (spawnSync('go', ['version']).status !== 0) return { skip: 'the Alpacon CLI test needs Go (https://go.dev/dl/ or apt-get install golang)' };
  const install = spawnSync('go', ['install', `${MODULE}@${VERSION}`], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, GOBIN: cache, GOFLAGS: '-mod=mod' } });
  if (install.status !== 0) {
    const why = (install.stderr || install.error?.message || '').trim().split('\n').slice(-2).join(' ');
    return { skip: `${MODULE}@${VERSION} cannot be installed here (${why}); set NIMBUS_ALPACON_CLI to a build of it` };
  }
  return { binary };
}

const found = computeSkipReason() === null ? alpaconBinary() : { skip: computeSkipReason()! };
const skip = 'skip' in found ? found.skip : false;

for (const database of testDatabases) {
  describe(`Alpacon's CLI ${VERSION} against Nimbus [${database.name}]`, { skip }, () => {
    let app: TestApp;
    let workspace: string;
    const homes: string[] = [];

    /** Runs the CLI with its configuration in `home`; its output and exit code, whatever they are. */
    const alpacon = async (home: string, ...args: string[]) => {
      try {
        const { stdout, stderr } = await promisify(execFile)((found as { binary: string }).binary, args, { timeout: 120_000, env: { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' } });
        return { code: 0, output: stdout + stderr, stdout };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`, stdout: failed.stdout ?? '' };
      }
    };
    const newHome = () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-alpacon-'));
      homes.push(home);
      return home;
    };
    const ok = async (home: string, ...args: string[]) => {
      const run = await alpacon(home, ...args);
      assert.equal(run.code, 0, `alpacon ${args.join(' ')}:\n${run.output}`);
      return run;
    };
    let admin: string;
    let ciHome: string; // logged in with the scoped token `ci`

    before(async () => {
      app = await startComputeTestApp(database);
      const created = await app.request({ method: 'POST', url: '/api/servers/servers/', payload: { name: 'alpaca', start: true } });
      assert.equal(created.statusCode, 201, created.body);
      await eventually('server running', async () => ((await app.request({ method: 'GET', url: `/api/servers/servers/${created.json().id}/` })).json().state === 'running' ? true : undefined), 120_000);
      await app.nimbus.http.listen({ port: 0, host: '127.0.0.1' });
      workspace = `127.0.0.1:${(app.nimbus.http.server.address() as AddressInfo).port}`;
      admin = newHome();
    });
    after(async () => {
      await app?.close();
      for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
    });

    it('logs in with a password and knows who it is', async () => {
      assert.match((await ok(admin, 'login', workspace, '-u', 'admin', '-p', app.adminPassword)).output, /Login succeeded/);
      const whoami = await ok(admin, 'whoami');
      assert.match(whoami.output, /User:\s+admin/);
      assert.match(whoami.output, /Role:\s+superuser/);
    });

    it('lists and describes servers', async () => {
      const list = await ok(admin, 'server', 'ls');
      assert.match(list.stdout, /alpaca\s+10\.\d+\.\d+\.\d+\s+.*\s+true\s+Default/);
      const described = await ok(admin, 'server', 'describe', 'alpaca');
      assert.match(described.stdout, /"code": "connected"/);
    });

    it('runs a command on a server and prints its output, live over an event channel', async () => {
      const run = await ok(admin, 'exec', 'alpaca', '--', 'echo', 'hello-from-nimbus');
      assert.match(run.stdout, /^hello-from-nimbus$/m);
      // The CLI followed the output over the channel rather than falling back to polling.
      const subscriptions = await app.nimbus.store.db.selectFrom('event_subscriptions').select(['event_type']).execute();
      assert.deepEqual([...new Set(subscriptions.map((s) => s.event_type))].sort(), ['command_fin', 'command_output']);
    });

    it('copies a 50 MB file up and back with the same checksum, folders and several files at once, and lists the transfers', async () => {
      const work = newHome();
      const big = path.join(work, 'big.bin');
      fs.writeFileSync(big, randomBytes(50 * 1024 * 1024));
      await ok(admin, 'cp', big, 'alpaca:/tmp/');
      await ok(admin, 'cp', 'alpaca:/tmp/big.bin', path.join(work, 'back.bin'));
      const sum = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
      assert.equal(sum(path.join(work, 'back.bin')), sum(big));

      fs.writeFileSync(path.join(work, 'one.txt'), 'one');
      fs.writeFileSync(path.join(work, 'two.txt'), 'two');
      await ok(admin, 'exec', 'alpaca', '--', 'mkdir', '-p', '/tmp/tree/sub');
      await ok(admin, 'cp', path.join(work, 'one.txt'), path.join(work, 'two.txt'), 'alpaca:/tmp/tree/sub/');
      await ok(admin, 'cp', '-r', 'alpaca:/tmp/tree', path.join(work, 'out'));
      assert.equal(fs.readFileSync(path.join(work, 'out', 'tree', 'sub', 'two.txt'), 'utf8'), 'two');
      await ok(admin, 'cp', 'alpaca:/tmp/tree/sub/one.txt', 'alpaca:/tmp/tree/sub/two.txt', path.join(work, 'many'));
      assert.equal(fs.readFileSync(path.join(work, 'many', 'one.txt'), 'utf8'), 'one');

      const log = await ok(admin, 'webftp-log', '--tail', '50');
      assert.match(log.stdout, /big\.bin\s+upload\s+52428800\s+true\s+admin\s+127\.0\.0\.1/);
      assert.match(log.stdout, /tree\.zip\s+download\s+\d+\s+true/);
    });

    it('creates a scoped token, logs in with it (-t), and is held to its scopes', async () => {
      const created = await ok(admin, 'token', 'create', '--name', 'ci', '--scopes', 'server:read,command:create');
      const key = /(nbpat_[A-Za-z0-9]+)/.exec(created.output)?.[1];
      assert.ok(key, created.output);
      const ci = (ciHome = newHome());
      assert.match((await ok(ci, 'login', workspace, '-t', key)).output, /Login succeeded/);
      assert.match((await ok(ci, 'exec', 'alpaca', '--', 'echo', 'with-a-token')).stdout, /^with-a-token$/m);
      const users = await alpacon(ci, 'user', 'ls');
      assert.notEqual(users.code, 0);
      assert.match(users.output, /user:read/);
    });

    it("holds the token to the ACL rules the CLI gives it: refused commands never reach the server", async () => {
      await ok(admin, 'token', 'acl', 'server', 'add', 'ci', '--server', 'alpaca');
      await ok(admin, 'token', 'acl', 'command', 'add', 'ci', '--command', 'echo *', '--username', '*');
      assert.match((await ok(admin, 'token', 'acl', 'command', 'ls', 'ci')).stdout, /echo \*/);
      assert.match((await ok(admin, 'token', 'acl', 'server', 'ls', 'ci')).stdout, /alpaca/);
      const ci = ciHome;
      assert.match((await ok(ci, 'exec', 'alpaca', '--', 'echo', 'still-allowed')).stdout, /^still-allowed$/m);
      const before = (await app.request({ method: 'GET', url: '/api/events/commands/' })).json().count;
      const refused = await alpacon(ci, 'exec', 'alpaca', '--', 'cat', '/etc/shadow');
      assert.notEqual(refused.code, 0);
      assert.match(refused.output, /ACL does not allow this command/);
      assert.equal((await app.request({ method: 'GET', url: '/api/events/commands/' })).json().count, before);
    });

    it('opens a web shell on a server, driven through a pseudo-terminal: types a command, reads its output, exits', async () => {
      const home = admin;
      const terminal = spawnPty((found as { binary: string }).binary, ['websh', 'alpaca'], { rows: 30, cols: 100, env: { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1', TERM: 'xterm' } });
      let screen = '';
      terminal.onData((text) => void (screen += text));
      const exited = new Promise<number>((resolve) => terminal.onExit(({ exitCode }) => resolve(exitCode)));
      try {
        await eventually(`a prompt (the screen shows ${JSON.stringify(screen.slice(-200))})`, async () => (/# /.test(screen) ? true : undefined), 60_000);
        terminal.write('echo "websh-$((40 + 2))"; stty size\r');
        await eventually(`the command's output (the screen shows ${JSON.stringify(screen.slice(-300))})`, async () => (/websh-42[\s\S]*30 100/.test(screen) ? true : undefined), 30_000);
        terminal.write('exit\r');
        assert.equal(await exited, 0, screen);
      } finally {
        terminal.kill();
      }
      // The CLI exits on the close frame; the session's end is recorded just after it is sent.
      const session = await eventually('the session recorded as closed', async () => {
        const [latest] = (await app.request({ method: 'GET', url: '/api/websh/sessions/' })).json().results;
        return latest?.closed_at ? latest : undefined;
      }, 10_000);
      assert.equal(session.server.name, 'alpaca');
    });

    it('lists users and the audit log', async () => {
      assert.match((await ok(admin, 'user', 'ls')).stdout, /^admin\s/m);
      const audit = await ok(admin, 'audit');
      assert.match(audit.stdout, /admin\s+token\s+token_created/);
      assert.match(audit.stdout, /admin\s+session\s+login/);
    });
  });
}
