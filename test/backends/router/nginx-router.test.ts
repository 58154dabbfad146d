import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../../bench/support/processes.ts';
import { createAppsRouter, type AppsRouter } from '../../../src/backends/router/nginx-router.ts';
import type { Route, RouteSet } from '../../../src/backends/router/routes.ts';
import { createLogger } from '../../../src/logger.ts';
import { opensslSkipReason, selfSigned } from '../../support/certificates.ts';
import { bounded as boundedBy, eventually } from '../../support/eventually.ts';

const WAIT_MS = 10_000;
const bounded = <T>(promise: Promise<T>, what: string) => boundedBy(promise, what, WAIT_MS);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function read(response: http.IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk));
    response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    response.on('error', reject);
  });
}

/**
 * A web process of an app: answers with its name and the request it saw, streams (`/stream`
 * sends a first line, the rest once `release` is called), echoes bodies (`/echo`), answers
 * late (`/slow`) and echoes the bytes of an upgraded connection.
 */
async function startProcess(name: string) {
  const releases: (() => void)[] = [];
  const server = http.createServer((request, response) => {
    if (request.url === '/echo') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      request.pipe(response);
    } else if (request.url === '/stream') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first\n');
      releases.push(() => response.end('second\n'));
    } else if (request.url === '/slow') {
      setTimeout(() => response.end('slow done'), 400);
    } else {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ name, url: request.url, headers: request.headers }));
    }
  });
  server.on('upgrade', (request, socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${request.headers.upgrade}\r\nConnection: Upgrade\r\nX-Process: ${name}\r\n\r\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    backend: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    release: () => releases.splice(0).forEach((release) => release()),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const nginxSkipReason = spawnSync('nginx', ['-v']).error && spawnSync('/usr/sbin/nginx', ['-v']).error ? 'needs nginx (apt-get install nginx-light)' : undefined;

describe('the apps router (nginx)', { skip: nginxSkipReason ?? false }, () => {
  let processes: Awaited<ReturnType<typeof startProcess>>[];
  let router: AppsRouter;
  let directory: string;
  let routes: RouteSet;
  const logged: string[] = [];
  const accessLines: { appId: string; line: string; at: string }[] = [];
  const shop: Route = { appId: 'app-shop', appName: 'shop', forceHttps: false, backends: [] };
  const empty: Route = { appId: 'app-empty', appName: 'empty', forceHttps: false, backends: [] };
  const certificate = opensslSkipReason ? undefined : selfSigned(['secure.example.com']);
  let port: number;

  before(async () => {
    processes = [await startProcess('one'), await startProcess('two')];
    shop.backends = processes.map((p) => p.backend);
    routes = {
      hosts: new Map([['shop.apps.test', shop], ['www.shop.example', shop], ['empty.apps.test', empty], ['secure.example.com', shop]]),
      certificates: new Map(certificate ? [['secure.example.com', { version: 'v1', cert: certificate.cert, key: () => certificate.key }]] : []),
    };
    port = await freePort();
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-router-'));
    router = createAppsRouter({
      host: '127.0.0.1',
      httpPort: port,
      httpsPort: await freePort(),
      routes: async () => routes,
      refreshMs: 50,
      access: (appId, lines) => accessLines.push(...lines.map((l) => ({ appId, ...l }))),
      drainMs: 3_000,
      directory,
      accessRotateBytes: 4_096,
      logger: createLogger('info', new Writable({ write: (chunk, _enc, done) => (logged.push(String(chunk)), done()) })),
    });
    await bounded(router.start(), 'the router to start');
  });
  after(async () => {
    await router?.stop();
    for (const p of processes ?? []) await p.close();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  const request = (host: string, path = '/', headers: Record<string, string> = {}, method = 'GET', body?: string) =>
    bounded(new Promise<Answer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method, headers: { ...headers, host }, agent: false }, (response) => read(response).then(resolve, reject));
      req.on('error', reject);
      req.end(body);
    }), `${method} ${host}${path}`);

  it('routes by Host over the processes in turn, with X-Forwarded-* and X-Request-Id', async () => {
    const first = await request('shop.apps.test', '/a?b=1', { 'x-request-id': 'given-id.1', 'x-forwarded-for': '203.0.113.9' });
    const second = await request('SHOP.apps.test:80', '/', { 'x-request-id': 'not valid!', 'proxy-connection': 'keep-alive', te: 'trailers', 'x-forwarded-proto': 'spoofed' });
    assert.equal(first.status, 200);
    const seen = JSON.parse(first.body) as { name: string; url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/a?b=1');
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'shop.apps.test');
    assert.equal(seen.headers['x-forwarded-port'], String(port));
    assert.equal(seen.headers['x-request-id'], 'given-id.1');
    assert.equal(first.headers['x-request-id'], 'given-id.1');
    assert.match(second.headers['x-request-id'] as string, /^[0-9a-f]{32}$/, 'a request id made when none is given');
    const secondSeen = JSON.parse(second.body) as { name: string; headers: Record<string, string> };
    assert.notEqual(secondSeen.name, seen.name, 'the next request goes to the other process');
    assert.equal(secondSeen.headers['x-request-id'], second.headers['x-request-id'], 'an invalid request id is replaced');
    assert.equal(secondSeen.headers['x-forwarded-proto'], 'http');
    assert.equal(secondSeen.headers['x-forwarded-host'], 'SHOP.apps.test:80');
    assert.equal(secondSeen.headers['proxy-connection'], undefined, 'hop-by-hop headers stay with the router');
    assert.equal(secondSeen.headers.te, undefined);
    assert.equal(JSON.parse((await request('www.shop.example')).body).name, seen.name);
  });

  it('answers 503 with a page when no process is up, and 404 for a host that is no app', async () => {
    const none = await request('empty.apps.test');
    assert.equal(none.status, 503);
    assert.equal(none.headers['retry-after'], '5');
    assert.match(none.body, /No process of the app empty is running/);
    assert.equal((await request('nothing.apps.test')).status, 404);
  });

  it('streams bodies both ways and splices upgraded connections', async () => {
    const echoed = await request('shop.apps.test', '/echo', { 'content-type': 'text/plain' }, 'POST', 'x'.repeat(200_000));
    assert.equal(echoed.body.length, 200_000);
    // The first part of an answer arrives while the process still holds the rest.
    const streamed = await bounded(new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/stream', headers: { host: 'shop.apps.test' }, agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
          if (body === 'first\n') for (const p of processes) p.release();
        });
        response.on('end', () => resolve(body));
      });
      req.on('error', reject);
    }), 'the streamed answer');
    assert.equal(streamed, 'first\nsecond\n');
    const spliced = await bounded(new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /live HTTP/1.1\r\nHost: shop.apps.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        got += chunk;
        if (got.includes('\r\n\r\n') && !got.includes('ping')) socket.write('ping');
        if (got.endsWith('ping')) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on('error', reject);
    }), 'the upgraded connection');
    assert.match(spliced, /^HTTP\/1.1 101 Switching Protocols\r\n/);
    assert.match(spliced, /X-Process: (one|two)/);
  });

  it('sends its access lines back, timestamped, for the app they belong to', async () => {
    await request('shop.apps.test', '/logged-path');
    const line = await eventually('the access line', async () => accessLines.find((l) => l.line.includes('/logged-path')), WAIT_MS);
    assert.equal(line.appId, 'app-shop');
    assert.match(line.line, /"GET \/logged-path HTTP\/1.1" 200 [\d.]+ms backend=127\.0\.0\.1:\d+ request_id=\S+$/);
    assert.ok(Math.abs(Date.parse(line.at) - Date.now()) < 60_000);
    assert.equal(fs.statSync(path.join(directory, 'access.log')).mode & 0o077, 0, 'the access log is readable by its owner alone');
  });

  it('keeps every access line once while its log is rotated under it', async () => {
    // About 150 bytes a line: 4 KiB rotates every ~27 requests, while nginx's workers (another user when root) reopen it.
    const paths = Array.from({ length: 120 }, (_, i) => `/rotated-${i}`);
    const firstLog = fs.statSync(path.join(directory, 'access.log')).ino;
    for (const [i, p] of paths.entries()) {
      await request('shop.apps.test', p);
      if (i % 30 === 29) await new Promise((resolve) => setTimeout(resolve, 1_200));
    }
    await eventually('every line', async () => (paths.every((p) => accessLines.some((l) => l.line.includes(`GET ${p} `))) ? true : undefined), WAIT_MS);
    for (const p of paths) assert.equal(accessLines.filter((l) => l.line.includes(`GET ${p} `)).length, 1, p);
    assert.notEqual(fs.statSync(path.join(directory, 'access.log')).ino, firstLog, 'the log was rotated');
    assert.equal(fs.statSync(path.join(directory, 'access.log')).mode & 0o077, 0, 'a new log is as private');
    assert.deepEqual(logged.filter((line) => /failed/.test(line)), [], 'nginx reopened its log without an error');
  });

  const secureRequest = () =>
    bounded(new Promise<Answer & { subject: string }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: router.ports.https, servername: 'secure.example.com', ca: certificate!.cert, headers: { host: 'secure.example.com' }, agent: false }, (response) => {
        const subject = String((response.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
        read(response).then((a) => resolve({ ...a, subject }), reject);
      });
      req.on('error', reject);
    }), 'the HTTPS request');

  it('serves custom domains over HTTPS with the certificate SNI names', { skip: opensslSkipReason ?? false }, async () => {
    const answer = await secureRequest();
    assert.equal(answer.status, 200);
    assert.equal(answer.subject, 'secure.example.com');
    assert.equal(JSON.parse(answer.body).headers['x-forwarded-proto'], 'https');
  });

  it('follows changes of the routes', async () => {
    routes = { ...routes, hosts: new Map([...[...routes.hosts].filter(([host]) => host !== 'shop.apps.test'), ['renamed.apps.test', shop] as const]) };
    await eventually('the new host routed', async () => ((await request('renamed.apps.test')).status === 200 ? true : undefined), WAIT_MS);
    // A worker of the configuration before may still take a connection for a moment after the reload.
    await eventually('the old host no more', async () => ((await request('shop.apps.test')).status === 404 ? true : undefined), WAIT_MS);
  });

  it("runs nginx in a process group of its own, in this process's session (one autogroup to the scheduler)", { skip: spawnSync('perl', ['-e', '1']).error ? 'needs Perl (essential in Debian), which makes the group' : false }, () => {
    /** A process's group and session, from /proc (the fields after its name). */
    const groupAndSession = (pid: number | string) => {
      const [, , group, session] = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return { group: Number(group), session: Number(session) };
    };
    const master = router.process!.pid!;
    const mine = groupAndSession('self');
    assert.deepEqual(groupAndSession(master), { group: master, session: mine.session });
    const workers = fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(' ');
    assert.ok(workers.length >= 1);
    for (const worker of workers) assert.deepEqual(groupAndSession(worker), { group: master, session: mine.session });
  });

  it('starts nginx again when it ends unexpectedly, and logs it', async () => {
    const ended = router.process!;
    // As a crash would: its master killed, its workers left behind (the router ends them).
    ended.kill('SIGKILL');
    // Served by a new nginx (the old master's orphaned workers answer until the router ends them).
    await eventually('the router serving again', async () => {
      if (router.process === undefined || router.process === ended) return undefined;
      const answer = await request('renamed.apps.test').catch(() => undefined);
      return answer?.status === 200 ? true : undefined;
    }, WAIT_MS);
    // The new nginx was configured with the certificates again.
    if (certificate) assert.equal((await secureRequest()).subject, 'secure.example.com');
    assert.ok(logged.some((line) => /the apps router \(nginx\) ended unexpectedly/.test(line)), 'the crash is logged');
  });

  it('drains on stop: a request in flight is answered, then nothing listens', async () => {
    const slow = request('renamed.apps.test', '/slow');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await bounded(router.stop(), 'the router to stop');
    assert.equal((await slow).body, 'slow done');
    await assert.rejects(request('renamed.apps.test'), /ECONNREFUSED/);
    await assert.rejects(bounded(new Promise<void>((resolve, reject) => net.connect(router.ports.https!, '127.0.0.1', () => resolve()).on('error', reject)), 'a TLS connection'), /ECONNREFUSED/);
    assert.equal(router.process, undefined);
    assert.equal(fs.existsSync(directory), false, 'nothing is left on disk, no key in clear');
  });
});
