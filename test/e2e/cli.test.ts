import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { migrationProvider } from '../../src/store/migrations/index.ts';
import { NIMBUS_FROM_SOURCES } from '../support/nimbus-command.ts';

/** The `nimbus` command (from its sources) in its own process, as a user runs it. */
interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the address once the server listens (read from its log line). */
  listening: Promise<string>;
  exited: Promise<number | null>;
}

function nimbus(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [...NIMBUS_FROM_SOURCES, ...args], {
    env: { ...process.env, NIMBUS_LOG_LEVEL: 'info', NIMBUS_ADMIN_PASSWORD: '', NIMBUS_DATABASE_URL: '', NIMBUS_PORT: '', NIMBUS_DNS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  // 'close', not 'exit': only then has everything the process wrote been read from its pipes.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const match = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(stdout);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`nimbus exited with ${code}:\n${stdout}\n${stderr}`)));
  });
  listening.catch(() => undefined);
  return { child, stdout: () => stdout, stderr: () => stderr, listening, exited };
}

async function stop(run: Run): Promise<number | null> {
  run.child.kill('SIGTERM');
  return run.exited;
}

/** Waits until `predicate` holds on the process's output (bounded). */
async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(predicate(), `timed out waiting for ${what}`);
}

const dirs: string[] = [];
function dataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-e2e-'));
  dirs.push(dir);
  return dir;
}

function jsonLogLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

describe('the nimbus command', () => {
  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves a fresh install: bootstrap banner once, then status, version, schema and organizations over HTTP', async () => {
    const dir = dataDir();
    const first = nimbus(['serve', '--port', '0', '--data-dir', dir]);
    const base = await first.listening;
    await waitFor(() => /admin API token: \S+\n/.test(first.stdout()), 'the bootstrap banner');
    assert.ok(fs.existsSync(path.join(dir, 'nimbus.db')));
    const token = /admin API token: (nbpat_\w+)/.exec(first.stdout())![1]!;
    const password = /admin password:  (\S+)/.exec(first.stdout())![1]!;
    assert.match(password, /^[\w-]{24}$/);
    assert.equal(first.stdout().match(/admin API token/g)!.length, 1);
    assert.ok(first.stdout().includes(`${base}/api/status/`), 'the banner shows how to reach this server');

    const auth = { authorization: `token="${token}"` };
    const status = await fetch(`${base}/api/status/`, { headers: { ...auth, 'x-request-id': 'e2e-status-1' } });
    assert.equal(status.status, 200);
    assert.equal((await status.json()).user.username, 'admin');
    assert.equal((await (await fetch(`${base}/api/version/`)).json()).version, '0.1.0');
    assert.equal((await (await fetch(`${base}/api/schema/`)).json()).openapi, '3.1.0');
    const orgs = await (await fetch(`${base}/api/iam/organizations/`, { headers: auth })).json();
    assert.deepEqual(orgs.results.map((o: { slug: string }) => o.slug), ['default']);
    assert.equal((await fetch(`${base}/api/iam/organizations/`)).status, 401);

    assert.equal(await stop(first), 0);
    const logs = jsonLogLines(first.stdout());
    assert.ok(logs.length >= 5);
    const statusLine = logs.find((l) => l.reqId === 'e2e-status-1');
    assert.deepEqual([statusLine?.url, statusLine?.status, statusLine?.msg], ['/api/status/', 200, 'request']);
    for (const line of logs) assert.ok(!JSON.stringify(line).includes(token.slice(6)), 'a log line carries the token');
    assert.ok(logs.some((l) => String(l.msg).startsWith('shutting down')));
    assert.ok(logs.some((l) => l.msg === 'stopped'));

    // A restart keeps everything and bootstraps nothing.
    const second = nimbus(['serve', '--port', '0', '--data-dir', dir]);
    const again = await second.listening;
    assert.equal((await fetch(`${again}/api/status/`, { headers: auth })).status, 200);
    assert.ok(!second.stdout().includes('admin API token'));
    assert.equal(await stop(second), 0);
  });

  it('keeps its data directory and files private, and bearer signing keys sealed with a key kept outside the database', async () => {
    const dir = path.join(dataDir(), 'data');
    const first = nimbus(['serve', '--port', '0', '--data-dir', dir]);
    const base = await first.listening;
    await waitFor(() => /admin API token: \S+\n/.test(first.stdout()), 'the bootstrap banner');
    const token = /admin API token: (nbpat_\w+)/.exec(first.stdout())![1]!;
    const exchange = async (at: string) => (await fetch(`${at}/api/auth/tokens/exchange/`, { method: 'POST', headers: { authorization: `token="${token}"` } })).json();
    const jwt = (await exchange(base)).token as string;
    const withBearer = async (at: string) => (await fetch(`${at}/api/auth/whoami/`, { headers: { authorization: `Bearer ${jwt}` } })).status;
    assert.equal(await withBearer(base), 200);
    assert.equal(await stop(first), 0);

    const mode = (file: string) => (fs.statSync(path.join(dir, file)).mode & 0o777).toString(8);
    // Others may pass through (servers' unprivileged ids reach their bundles), never list.
    assert.equal(mode('.'), '711');
    for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('nimbus.db') || f === 'secret.key')) assert.equal(mode(file), '600', file);
    assert.ok(fs.existsSync(path.join(dir, 'secret.key')));
    const db = new SQLite(path.join(dir, 'nimbus.db'));
    const keys = db.prepare('select id, secret from signing_keys').all() as { id: string; secret: string }[];
    assert.equal(keys.length, 1);
    assert.match(keys[0]!.secret, /^v1\./, 'the stored signing key is sealed');
    // A key stored raw, as before keys were sealed, is sealed at the next start.
    db.prepare("insert into signing_keys (id, algorithm, secret, created_at, retire_at, expires_at) values ('00000000-0000-4000-8000-000000000001', 'HS256', 'cmF3LWtleS1mcm9tLWJlZm9yZQ', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2999-01-01T00:00:00.000Z')").run();
    db.close();

    // The same key file: the bearer still works, and the raw key is sealed.
    const second = nimbus(['serve', '--port', '0', '--data-dir', dir]);
    assert.equal(await withBearer(await second.listening), 200);
    assert.equal(await stop(second), 0);
    const reopened = new SQLite(path.join(dir, 'nimbus.db'));
    assert.ok((reopened.prepare('select secret from signing_keys').all() as { secret: string }[]).every((k) => k.secret.startsWith('v1.')));
    reopened.close();

    // Another key cannot open them: the process refuses to start, saying why.
    const wrong = nimbus(['serve', '--port', '0', '--data-dir', dir], { NIMBUS_SECRET_KEY: 'another-secret-key-of-enough-length-0123456789' });
    assert.equal(await wrong.exited, 1);
    assert.match(wrong.stderr(), /^nimbus: the bearer signing keys in the database were sealed with another secret key/);
  });

  it('takes the admin password from NIMBUS_ADMIN_PASSWORD and never prints it', async () => {
    const run = nimbus(['serve', '--port', '0', '--data-dir', dataDir()], { NIMBUS_ADMIN_PASSWORD: 'a-chosen-password' });
    await run.listening;
    await waitFor(() => /admin API token: \S+\n/.test(run.stdout()), 'the bootstrap banner');
    assert.ok(run.stdout().includes('admin password:  (from NIMBUS_ADMIN_PASSWORD)'));
    assert.ok(!run.stdout().includes('a-chosen-password'));
    assert.equal(await stop(run), 0);
  });

  it('lets flags win over environment variables', async () => {
    // The environment names a port that is taken and a data directory and log level that are
    // not the ones used: the server must come up on the flags' values.
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const envDir = dataDir();
    const flagDir = dataDir();
    try {
      const run = nimbus(['serve', '--port', '0', '--data-dir', flagDir, '--log-level', 'info'], {
        NIMBUS_PORT: String((taken.address() as net.AddressInfo).port),
        NIMBUS_DATA_DIR: envDir,
        NIMBUS_LOG_LEVEL: 'silent',
      });
      const base = await run.listening;
      assert.notEqual(new URL(base).port, String((taken.address() as net.AddressInfo).port));
      assert.ok(fs.existsSync(path.join(flagDir, 'nimbus.db')));
      assert.ok(!fs.existsSync(path.join(envDir, 'nimbus.db')));
      assert.equal(await stop(run), 0);
    } finally {
      taken.close();
    }
  });

  it('refuses bad configuration with a clear message and exit code 1', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['serve'], { NIMBUS_PORT: 'eighty' }, /^nimbus: NIMBUS_PORT must be a whole number, got "eighty"\n$/],
      [['serve', '--port', '99999'], {}, /a port is a whole number from 0 to 65535/],
      [['serve', '--log-level', 'loud'], {}, /^nimbus: log level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"\n$/],
      [['serve'], { NIMBUS_DATABASE_URL: 'mysql://db/x' }, /^nimbus: NIMBUS_DATABASE_URL must start with postgres:\/\//],
      [['migrate', '--database-url', 'postgres://nobody@127.0.0.1:1/none'], {}, /^nimbus: .*ECONNREFUSED/],
      [['frobnicate'], {}, /unknown command 'frobnicate'/],
    ];
    for (const [args, env, message] of cases) {
      const run = nimbus(args, { NIMBUS_DATA_DIR: dataDir(), ...env });
      assert.equal(await run.exited, 1, args.join(' '));
      assert.match(run.stderr(), message, args.join(' '));
    }
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const busy = nimbus(['serve', '--port', String((taken.address() as net.AddressInfo).port), '--data-dir', dataDir()]);
      assert.equal(await busy.exited, 1);
      assert.match(busy.stderr(), /^nimbus: listen EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('prints its version, and migrates a database without serving it', async () => {
    const version = nimbus(['version']);
    assert.equal(await version.exited, 0);
    assert.equal(version.stdout(), 'nimbus 0.1.0\n');
    const dir = dataDir();
    const migrate = nimbus(['migrate', '--data-dir', dir]);
    assert.equal(await migrate.exited, 0, migrate.stderr());
    const all = Object.keys(await migrationProvider.getMigrations()).sort();
    assert.equal(migrate.stdout(), `applied: ${all.join(', ')}\n`);
    const again = nimbus(['migrate', '--data-dir', dir]);
    assert.equal(await again.exited, 0);
    assert.equal(again.stdout(), 'the database is up to date\n');
  });

  it('on SIGTERM stops accepting, finishes the request in flight, closes the store and exits 0', async () => {
    const run = nimbus(['serve', '--port', '0', '--data-dir', dataDir()]);
    const base = await run.listening;
    await waitFor(() => /admin API token: \S+\n/.test(run.stdout()), 'the bootstrap banner');
    const token = /admin API token: (nbpat_\w+)/.exec(run.stdout())![1]!;
    const { port } = new URL(base);

    // A request is in flight while its body is still arriving: the server has its headers and
    // is waiting for the rest. Shutdown must wait for it, however long the client takes.
    const body = JSON.stringify({ name: 'Created during shutdown' });
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (chunk) => (response += chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(
      `POST /api/iam/organizations/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: token="${token}"\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: slow-create\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.child.kill('SIGTERM');
    await waitFor(() => run.stdout().includes('shutting down'), 'the shutdown to begin');

    // Not accepting any more, but still running: the request has not finished.
    await assert.rejects(fetch(`${base}/healthz`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(run.child.exitCode, null, 'the server exited with a request in flight');

    socket.write(body.slice(10));
    await closed;
    assert.match(response, /^HTTP\/1\.1 201 Created\r\n/);
    assert.match(response, /"name":"Created during shutdown"/);
    assert.equal(await run.exited, 0);
    const logs = jsonLogLines(run.stdout());
    const messages = logs.map((l) => l.msg);
    assert.ok(messages.indexOf('stopped') > logs.findIndex((l) => l.reqId === 'slow-create'), 'stopped after the request was answered');
  });
});
