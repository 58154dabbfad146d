import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/logger.ts';

describe('the logger', () => {
  it('redacts credentials in the object logged, one level down, and in request headers', () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
    logger.info({ token: 'top-token', password: 'top-password', secret: 'top-secret', key: 'top-key', kept: 'visible' }, 'top level');
    logger.child({ reqId: 'r-1' }).warn({ body: { token: 'nested-token', password: 'nested-password' } }, 'one level down');
    logger.error({ req: { headers: { authorization: 'token="header-token"', 'x-auth-token': 'x-token', 'mc-api-key': 'mc-key', cookie: 'session=s' } } }, 'headers');
    const written = lines.join('');
    for (const secret of ['top-token', 'top-password', 'top-secret', 'top-key', 'nested-token', 'nested-password', 'header-token', 'x-token', 'mc-key', 'session=s']) {
      assert.ok(!written.includes(secret), `${secret} is not logged`);
    }
    assert.equal(JSON.parse(lines[0]!).token, '[redacted]');
    assert.equal(JSON.parse(lines[0]!).kept, 'visible');
    assert.equal(JSON.parse(lines[1]!).reqId, 'r-1');
  });
});
