import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { waitForHealthy } from '../../../src/core/apps/health.ts';

describe('app health checks', () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((request, response) => response.writeHead(request.url === '/healthz' ? 200 : request.url === '/moved' ? 302 : 500).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('passes on a TCP connection when no path is set', async () => {
    assert.equal(await waitForHealthy('127.0.0.1', port, { timeoutMs: 1000 }), true);
  });

  it('passes on a 2xx or 3xx answer to the path', async () => {
    assert.equal(await waitForHealthy('127.0.0.1', port, { path: '/healthz', timeoutMs: 1000 }), true);
    assert.equal(await waitForHealthy('127.0.0.1', port, { path: '/moved', timeoutMs: 1000 }), true);
  });

  it('fails when the path answers an error, or nothing listens, until the timeout', async () => {
    assert.equal(await waitForHealthy('127.0.0.1', port, { path: '/broken', timeoutMs: 500 }), false);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    assert.equal(await waitForHealthy('127.0.0.1', free, { timeoutMs: 300 }), false);
    assert.equal(await waitForHealthy('127.0.0.1', free, { path: '/healthz', timeoutMs: 300 }), false);
  });
});
