import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { FromRouter, RouterWorkerData, ToRouter } from './router-messages.ts';
import type { RouteSet, RouteUpdate, SentCertificate } from './router.ts';

export interface RouterThreadOptions {
  /** The address the listeners listen on. */
  host: string;
  httpPort: number;
  /** 0: no HTTPS listener. */
  httpsPort: number;
  /** The current routes; asked again every `refreshMs`, and sent to the thread when they change. */
  routes(): Promise<RouteSet>;
  refreshMs: number;
  /** Access lines of an app, for its logs. */
  access(appId: string, lines: { line: string; at: string }[]): void;
  /** How long a stop lets requests and upgraded connections in flight finish. */
  drainMs: number;
  logger: Logger;
}

/** Access lines reach this side in batches this far apart at most. */
const ACCESS_FLUSH_MS = 100;
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 5_000;
/** A thread that served this long before it ended starts its restarts from the first delay again. */
const STABLE_MS = 30_000;
/** Beyond the drain, how long a stopping thread has to end by itself before it is terminated. */
const STOP_MARGIN_MS = 2_000;

const SCHEMES = { http: ['HTTP', 'NIMBUS_ROUTER_PORT'], https: ['HTTPS', 'NIMBUS_ROUTER_TLS_PORT'] } as const;

/** The thread's module: the compiled one, or the source when the sources run through tsx (tests, `npm run dev`). */
function openWorker(data: RouterWorkerData): Worker {
  const source = import.meta.url.endsWith('.ts');
  const entry = new URL(`./router-worker.${source ? 'ts' : 'js'}`, import.meta.url);
  if (!source) return new Worker(entry, { workerData: data });
  // Node 20's threads do not take the loader hooks of `--import tsx`: the thread registers them itself.
  const loader = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(loader)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData: data });
}

/**
 * The apps router in a thread of its own: its listeners and every request are off this event
 * loop (the API's, the task worker's, the supervisor's), which only reads the routes every
 * `refreshMs`, sends them over when they change (a certificate's key only once per version),
 * and writes the access lines the thread sends back. A thread that ends unexpectedly is logged
 * and started again (after 0.1 s, doubling up to 5 s while it keeps failing); `stop` drains it.
 */
export function createRouterThread(options: RouterThreadOptions) {
  const { logger } = options;
  let thread: Worker | undefined;
  let current: RouteSet = { hosts: new Map(), certificates: new Map() };
  /** What the running thread routes by (the routes' JSON, certificates by version), to send only changes. */
  let sent = '';
  /** `host version` of each certificate whose key the running thread has. */
  let keysSent = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> = Promise.resolve();
  let restartDelay = RESTART_FIRST_MS;
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));

  const signature = (set: RouteSet) => JSON.stringify([[...set.hosts], [...set.certificates].map(([host, c]) => [host, c.version])]);

  /** The update for the running thread: keys only of the certificates it does not have yet. */
  function updateFor(set: RouteSet): RouteUpdate {
    const certificates = new Map<string, SentCertificate>();
    const keys = new Set<string>();
    for (const [host, certificate] of set.certificates) {
      const known = `${host} ${certificate.version}`;
      keys.add(known);
      if (keysSent.has(known)) {
        certificates.set(host, { version: certificate.version, cert: certificate.cert });
        continue;
      }
      try {
        certificates.set(host, { version: certificate.version, cert: certificate.cert, key: certificate.key() });
      } catch (error) {
        keys.delete(known);
        logger.warn({ err: error }, `the apps router cannot use the certificate of ${host}`);
      }
    }
    keysSent = keys;
    return { hosts: set.hosts, certificates };
  }

  const post = (message: ToRouter) => thread?.postMessage(message);

  async function refresh(): Promise<void> {
    try {
      current = await options.routes();
    } catch (error) {
      logger.warn({ err: error }, 'the router could not read its routes');
      return;
    }
    const next = signature(current);
    if (!thread || next === sent) return;
    sent = next;
    post({ type: 'routes', routes: updateFor(current) });
  }

  function delivered(lines: [string, string, number][]): void {
    const byApp = new Map<string, { line: string; at: string }[]>();
    for (const [appId, line, at] of lines) {
      let group = byApp.get(appId);
      if (!group) byApp.set(appId, (group = []));
      group.push({ line, at: new Date(at).toISOString() });
    }
    for (const [appId, group] of byApp) options.access(appId, group);
  }

  /** Starts a thread with the current routes; resolves once its listeners listen (or failed to), or it ended. */
  function spawn(): Promise<void> {
    keysSent = new Set();
    sent = signature(current);
    const started = Date.now();
    const worker = openWorker({ host: options.host, httpPort: options.httpPort, httpsPort: options.httpsPort, routes: updateFor(current), accessFlushMs: ACCESS_FLUSH_MS });
    thread = worker;
    let failure: Error | undefined;
    return new Promise((resolve) => {
      worker.on('message', (message: FromRouter) => {
        switch (message.type) {
          case 'access':
            delivered(message.lines);
            break;
          case 'listening':
            logger.info({ port: message.port }, `apps router listening (${SCHEMES[message.scheme][0]})`);
            break;
          case 'listen-failed': {
            // A router listener that cannot listen (its port taken) is reported; the API and the apps still run.
            const [what, setting] = SCHEMES[message.scheme];
            logger.error(`the apps router is not serving ${what}: ${message.message} (set ${setting}, or 0 to run none)`);
            break;
          }
          case 'ready':
            resolve();
            break;
          case 'error':
            logger.warn(`the apps router: ${message.message}`);
            break;
        }
      });
      worker.on('error', (error) => (failure = error));
      worker.on('exit', (code) => {
        resolve();
        if (thread === worker) thread = undefined;
        if (stopped) return;
        if (Date.now() - started >= STABLE_MS) restartDelay = RESTART_FIRST_MS;
        logger.error({ err: failure, exitCode: code }, `the apps router's thread ended unexpectedly (exit code ${code}); starting it again in ${restartDelay} ms`);
        restartTimer = setTimeout(() => {
          if (!stopped) void spawn();
        }, restartDelay);
        restartDelay = Math.min(restartDelay * 2, RESTART_MAX_MS);
      });
    });
  }

  return {
    /** The ports the listeners are given (the HTTPS one is undefined when there is none). */
    ports: { http: options.httpPort, https: options.httpsPort || undefined },
    /** Resolves once `start` has started the first thread and its listeners listen (or failed to). */
    ready,
    /** The thread now serving, if one is (to watch it, or to end it as a crash would). */
    get thread(): Worker | undefined {
      return thread;
    },
    /** Reads the routes, starts the thread, then reads them again every `refreshMs`. */
    async start(): Promise<void> {
      try {
        current = await options.routes();
      } catch (error) {
        logger.warn({ err: error }, 'the router could not read its routes');
      }
      if (stopped) return;
      await spawn();
      started();
      const again = () => {
        if (stopped) return;
        timer = setTimeout(() => {
          refreshing = refresh().finally(again);
        }, options.refreshMs);
      };
      again();
    },
    /** Stops reading routes and restarting, then drains the thread; resolves once it has ended (nothing is left listening). */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(restartTimer);
      await refreshing;
      const worker = thread;
      if (!worker) return;
      const ended = new Promise((resolve) => worker.once('exit', resolve));
      post({ type: 'stop', drainMs: options.drainMs });
      const late = setTimeout(() => void worker.terminate(), options.drainMs + STOP_MARGIN_MS);
      await ended;
      clearTimeout(late);
    },
  };
}

export type RouterThread = ReturnType<typeof createRouterThread>;
