import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createRouter } from '../../../src/backends/router/router.ts';
import { bounded as boundedBy, eventually } from '../../support/eventually.ts';

const WAIT_MS = 10_000;
const bounded = <T>(promise: Promise<T>, what: string) => boundedBy(promise, what, WAIT_MS);

/** One request as a process received it, raw. */
interface Received {
  head: string;
  body: string;
  socket: net.Socket;
}

/**
 * A process speaking HTTP by hand, so that each test can answer with the framing it checks:
 * `answer` gets each request (its head and body, read by content-length or chunked framing) with
 * its connection, and writes what it likes. It counts the connections it was given.
 */
async function startRawProcess() {
  let answer: (request: Received, socket: net.Socket, index: number) => void = () => {};
  const received: Received[] = [];
  let connections = 0;
  const closed: net.Socket[] = [];
  const server = net.createServer((socket) => {
    connections += 1;
    let buffered = Buffer.alloc(0);
    socket.on('close', () => closed.push(socket));
    socket.on('error', () => {});
    socket.on('data', (data) => {
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        let rest = buffered.subarray(end + 4);
        let body = '';
        const length = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (length) {
          if (rest.length < Number(length[1])) return;
          body = rest.subarray(0, Number(length[1])).toString();
          rest = rest.subarray(Number(length[1]));
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          const last = rest.indexOf('0\r\n\r\n');
          if (last < 0) return;
          let at = 0;
          while (at < last) {
            const line = rest.indexOf('\r\n', at);
            const size = parseInt(rest.subarray(at, line).toString(), 16);
            body += rest.subarray(line + 2, line + 2 + size).toString();
            at = line + 2 + size + 2;
          }
          rest = rest.subarray(last + 5);
        }
        buffered = rest;
        const request = { head, body, socket };
        received.push(request);
        answer(request, socket, received.length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    backend: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    received,
    closed,
    connections: () => connections,
    answerWith(next: typeof answer) {
      answer = next;
    },
    reset() {
      received.length = 0;
      closed.length = 0;
      connections = 0;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const ok = (body: string, headers = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`;

describe('the apps router toward the processes', () => {
  let process: Awaited<ReturnType<typeof startRawProcess>>;
  let router: ReturnType<typeof createRouter>;
  let server: http.Server;
  let port: number;
  const accessLines: string[] = [];

  before(async () => {
    process = await startRawProcess();
    router = createRouter({ access: (_appId, line) => accessLines.push(line), onError: () => {} });
    router.update({ hosts: new Map([['raw.apps.test', { appId: 'app-raw', appName: 'raw', forceHttps: false, backends: [process.backend] }]]), certificates: new Map() });
    server = router.server();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  beforeEach(() => process.reset());
  after(async () => {
    await router?.close(1_000);
    await process?.close();
  });

  /** A request through the router on a kept-alive client connection, or a fresh one with `agent: false`. */
  const request = (options: { path?: string; method?: string; headers?: Record<string, string>; body?: string | string[]; agent?: http.Agent | false } = {}) =>
    bounded(new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: options.path ?? '/', method: options.method ?? 'GET', headers: { ...options.headers, host: 'raw.apps.test' }, agent: options.agent ?? false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      });
      req.on('error', reject);
      // Several pieces: the client sends the body chunked.
      if (Array.isArray(options.body)) for (const piece of options.body) req.write(piece);
      else if (options.body !== undefined) req.write(options.body);
      req.end();
    }), `${options.method ?? 'GET'} ${options.path ?? '/'}`);

  it('keeps one connection to the process for requests one after the other, and writes the head the process expects', async () => {
    process.answerWith((_request, socket, index) => socket.write(ok(`answer ${index}`, 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Custom: yes\r\n')));
    for (let i = 1; i <= 5; i++) {
      const answer = await request({ path: `/n/${i}?q=1`, headers: { 'x-request-id': `req-${i}` } });
      assert.equal(answer.status, 200);
      assert.equal(answer.body, `answer ${i}`);
      assert.equal(answer.headers['x-custom'], 'yes');
      // The process's hop-by-hop headers stay between it and the router; the request id is added.
      assert.equal(answer.headers['keep-alive'], undefined);
      assert.equal(answer.headers['x-request-id'], `req-${i}`);
    }
    assert.equal(process.connections(), 1);
    const [first] = process.received;
    assert.match(first!.head, /^GET \/n\/1\?q=1 HTTP\/1\.1\r\n/);
    assert.match(first!.head, /\r\nx-forwarded-for: 127\.0\.0\.1\r\n/);
    assert.match(first!.head, /\r\nx-forwarded-host: raw\.apps\.test\r\n/);
    assert.match(first!.head, /\r\nx-request-id: req-1$/);
  });

  it('passes on bodies the process frames by length, by chunks or by closing the connection', async () => {
    process.answerWith((request, socket) => {
      if (request.head.startsWith('GET /chunked')) socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
      else socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end');
    });
    const chunked = await request({ path: '/chunked' });
    assert.equal(chunked.body, 'hello world');
    const closing = await request({ path: '/closing' });
    assert.equal(closing.status, 200);
    assert.equal(closing.body, 'until the end');
    // The connection whose end delimited the answer is not used again.
    await eventually('the closed connection noticed', async () => (process.closed.length ? true : undefined), WAIT_MS);
    assert.equal((await request({ path: '/chunked' })).body, 'hello world');
  });

  it('reads no body after HEAD or 304, and skips informational answers', async () => {
    process.answerWith((request, socket) => {
      if (request.head.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      else if (request.head.startsWith('GET /cached')) socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 1000\r\nETag: "x"\r\n\r\n');
      else socket.write(`HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n${ok('after hints')}`);
    });
    const head = await request({ method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '1000');
    assert.equal((await request({ path: '/cached' })).status, 304);
    const hinted = await request({ path: '/hinted' });
    assert.equal(hinted.status, 200);
    assert.equal(hinted.body, 'after hints');
    // All on one connection: had the router waited for the bodies announced, the next answers would not have come.
    assert.equal(new Set(process.received.map((r) => r.socket)).size, 1);
  });

  it('streams request bodies with their length, or chunked when the client sent them so', async () => {
    process.answerWith((request, socket) => socket.write(ok(`got ${request.body.length}`)));
    const sized = await request({ method: 'POST', path: '/sized', body: 'a'.repeat(70_000), headers: { 'content-length': '70000' } });
    assert.equal(sized.body, 'got 70000');
    assert.match(process.received[0]!.head, /\r\ncontent-length: 70000/i);
    assert.doesNotMatch(process.received[0]!.head, /transfer-encoding/i);
    const pieces = await request({ method: 'PUT', path: '/pieces', body: ['one,', 'two,', 'three'] });
    assert.equal(pieces.body, 'got 13');
    assert.equal(process.received[1]!.body, 'one,two,three');
    assert.match(process.received[1]!.head, /\r\ntransfer-encoding: chunked/i);
  });

  it('lends no unasked-for answer of a process to the next request', async () => {
    process.answerWith((request, socket) => {
      const path = request.head.split(' ')[1]!;
      // Two answers to one request, or one arriving while the connection idles.
      if (path === '/twice') socket.write(ok('first') + ok('smuggled'));
      else if (path === '/later') {
        socket.write(ok('on time'));
        setTimeout(() => socket.write(ok('late')), 50);
      } else socket.write(ok(`answer to ${path}`));
    });
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await request({ path: '/twice', agent: keepAlive })).body, 'first');
    assert.equal((await request({ path: '/next', agent: keepAlive })).body, 'answer to /next');
    assert.equal((await request({ path: '/later', agent: keepAlive })).body, 'on time');
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal((await request({ path: '/after', agent: keepAlive })).body, 'answer to /after');
    // Each connection that carried more than was asked was closed: the next request came on a new one.
    const [twice, next, later, afterwards] = process.received.map((r) => r.socket);
    assert.notEqual(next, twice);
    assert.notEqual(afterwards, later);
    assert.ok(process.closed.includes(twice!) && process.closed.includes(later!));
    keepAlive.destroy();
  });

  it('answers 502 for an answer that is not HTTP or that Node would not send', async () => {
    process.answerWith((request, socket) => {
      if (request.head.startsWith('GET /garbage')) socket.write('NOT HTTP AT ALL\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nX-Bad: a\u0001b\r\nContent-Length: 0\r\n\r\n');
    });
    for (const path of ['/garbage', '/control']) {
      const answer = await request({ path });
      assert.equal(answer.status, 502, path);
      assert.match(answer.body, /did not answer/);
    }
    assert.ok(accessLines.some((line) => line.includes('"GET /garbage HTTP/1.1" 502')));
  });

  it('tries a request without a body again on a new connection when the process closed the kept-alive one under it', async () => {
    // The process takes the second request of each connection and closes it unanswered, as a server whose keep-alive ran out does.
    const perConnection = new WeakMap<net.Socket, number>();
    process.answerWith((_request, socket) => {
      const count = (perConnection.get(socket) ?? 0) + 1;
      perConnection.set(socket, count);
      if (count === 2) socket.destroy();
      else socket.write(ok('fine'));
    });
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await request({ agent: keepAlive, path: '/first' })).body, 'fine');
    assert.equal((await request({ agent: keepAlive, path: '/second' })).body, 'fine');
    assert.deepEqual(process.received.map((r) => r.head.split(' ')[1]), ['/first', '/second', '/second']);
    // A request with a body is not sent twice: its failure is the client's answer.
    assert.equal((await request({ method: 'POST', path: '/post', body: 'once', headers: { 'content-length': '4' } })).status, 502);
    assert.deepEqual(process.received.map((r) => r.head.split(' ')[1]), ['/first', '/second', '/second', '/post']);
    keepAlive.destroy();
  });

  it('closes the connection to the process when the client leaves before its answer ended, and goes on serving', async () => {
    process.answerWith((request, socket) => {
      if (request.head.startsWith('GET /endless')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nsome of it');
      else socket.write(ok('next'));
    });
    await bounded(new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/endless', headers: { host: 'raw.apps.test' }, agent: false }, (response) => {
        response.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('close', resolve);
      req.on('timeout', reject);
    }), 'the partial answer');
    await eventually('the process connection closed', async () => (process.closed.length === 1 ? true : undefined), WAIT_MS);
    assert.equal((await request({ path: '/after' })).body, 'next');
  });
});
