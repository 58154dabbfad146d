// The apps router's thread: the router's listeners and data path, on an event loop of their own
// (see router-thread.ts, which starts it and talks to it).
import type { Server } from 'node:http';
import type { Server as SecureServer } from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import { createRouter } from './router.ts';
import type { FromRouter, RouterWorkerData, ToRouter } from './router-messages.ts';

const port = parentPort!;
const data = workerData as RouterWorkerData;
const post = (message: FromRouter) => port.postMessage(message);

/** Access lines not yet sent: [app id, line, time (ms)] each, sent together every moment rather than one message per request. */
let pending: FromRouter & { type: 'access' } = { type: 'access', lines: [] };
let flushTimer: NodeJS.Timeout | undefined;
function flush(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (!pending.lines.length) return;
  post(pending);
  pending = { type: 'access', lines: [] };
}

const router = createRouter({
  access(appId, line) {
    pending.lines.push([appId, line, Date.now()]);
    flushTimer ??= setTimeout(flush, data.accessFlushMs);
  },
  onError: (error) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
});
router.update(data.routes);

function listen(listener: Server | SecureServer, listenPort: number, scheme: 'http' | 'https'): Promise<void> {
  return new Promise((resolve) => {
    listener.once('error', (error) => {
      post({ type: 'listen-failed', scheme, message: error.message });
      resolve();
    });
    listener.listen(listenPort, data.host, () => {
      post({ type: 'listening', scheme, port: listenPort });
      resolve();
    });
  });
}

const listening = Promise.all([
  listen(router.server(), data.httpPort, 'http'),
  data.httpsPort ? listen(router.secureServer(), data.httpsPort, 'https') : undefined,
]).then(() => post({ type: 'ready' }));

port.on('message', (message: ToRouter) => {
  if (message.type === 'routes') router.update(message.routes);
  else if (message.type === 'stop') {
    void listening
      .then(() => router.close(message.drainMs))
      .then(() => {
        flush();
        post({ type: 'stopped' });
        // Nothing is left to keep the thread alive: it ends.
        port.close();
      });
  }
});
