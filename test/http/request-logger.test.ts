import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { RequestLogger, requestLoggerFactory } from '../../src/http/request-logger.ts';
import { createLogger } from '../../src/logger.ts';

/** A logger at `level` writing into an array, and how many children were made of it. */
function capturingLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<Logger['child']>) => (children++, child(...args))) as Logger['child'];
  return { logger, lines, children: () => children };
}

describe('a request logger', () => {
  it('makes its child only when a line is written, and the line carries its bindings', () => {
    const { logger, lines, children } = capturingLogger('warn');
    const log = new RequestLogger(logger, { reqId: 'r-1' }, {});
    log.info('hidden');
    log.debug({ detail: 1 }, 'hidden too');
    assert.equal(log.isLevelEnabled('info'), false);
    assert.equal(log.level, 'warn');
    assert.equal(children(), 0);
    log.error({ code: 'x' }, 'shown');
    log.warn('shown too');
    assert.equal(children(), 1);
    assert.deepEqual(
      lines.map(({ reqId, msg, code }) => ({ reqId, msg, code })),
      [
        { reqId: 'r-1', msg: 'shown', code: 'x' },
        { reqId: 'r-1', msg: 'shown too', code: undefined },
      ],
    );
  });

  it("honours a route's own level, and a level set on it", () => {
    const { logger, lines } = capturingLogger('warn');
    const chatty = new RequestLogger(logger, { reqId: 'r-2' }, { level: 'debug' });
    assert.equal(chatty.isLevelEnabled('debug'), true);
    assert.equal(chatty.isLevelEnabled('trace'), false);
    chatty.debug('route debug');
    const quiet = new RequestLogger(logger, { reqId: 'r-3' }, { level: 'fatal' });
    quiet.error('not written');
    const raised = new RequestLogger(logger, { reqId: 'r-4' }, {});
    raised.level = 'info';
    raised.info('written after the change');
    assert.deepEqual(
      lines.map(({ reqId, msg }) => `${reqId} ${msg}`),
      ['r-2 route debug', 'r-4 written after the change'],
    );
  });

  it('is what Fastify hands a request, with the request id bound', async () => {
    const { logger, lines, children } = capturingLogger('info');
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, childLoggerFactory: requestLoggerFactory, logController: new LogController({ disableRequestLogging: true }) });
    // Fastify makes one child of its own when it is created.
    const atStart = children();
    app.get('/quiet', async (request) => (request.log.debug('not at info'), { ok: true }));
    app.get('/loud', async (request) => (request.log.info({ step: 'handler' }, 'handled'), { ok: true }));
    try {
      assert.equal((await app.inject({ url: '/quiet' })).statusCode, 200);
      assert.equal(children(), atStart);
      const loud = await app.inject({ url: '/loud' });
      assert.equal(loud.statusCode, 200);
      assert.equal(children(), atStart + 1);
      const line = lines.find((l) => l.msg === 'handled')!;
      assert.equal(line.step, 'handler');
      assert.match(String(line.reqId), /^req-/);
    } finally {
      await app.close();
    }
  });
});
