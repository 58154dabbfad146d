import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRuncAppHost } from './backends/apps/index.ts';
import { createRouter } from './backends/router/router.ts';
import { createRuncHosts } from './backends/runc/index.ts';
import { APPS_DEFAULTS, COMPUTE_DEFAULTS, TASK_DEFAULTS, type Config } from './config.ts';
import { APP_RUNTIME_DEFAULTS, type AppRuntimeSettings } from './core/apps/app-services.ts';
import { parseRange } from './core/compute/addresses.ts';
import { createCoreServices, type CoreServices } from './core/services.ts';
import { createTaskWorker, type TaskWorker } from './core/tasks/worker.ts';
import { buildHttpServer } from './http/server.ts';
import { openStore, storeOptionsFor, type Store } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';
import { createNotifier } from './store/notifier.ts';

type TaskSettings = Pick<Config, keyof typeof TASK_DEFAULTS>;
/** Compute settings; without `computeDir` this process runs no servers (every compute request is a 503). */
export type ComputeConfig = Pick<Config, 'computeDir' | 'networkRange' | 'runcPath' | 'hostId' | 'stopTimeoutSeconds' | 'imageUploadLimit'>;

function computeFor(config: Partial<ComputeConfig>) {
  if (!config.computeDir) return undefined;
  const { compute, parts } = createRuncHosts({ root: config.computeDir, runcPath: config.runcPath });
  return {
    host: compute,
    appHost: createRuncAppHost(parts),
    settings: {
      hostId: config.hostId ?? 'local',
      networkRange: parseRange(config.networkRange ?? COMPUTE_DEFAULTS.networkRange),
      stopTimeoutMs: (config.stopTimeoutSeconds ?? COMPUTE_DEFAULTS.stopTimeoutSeconds) * 1000,
      // Beside the host's own directory, not in it: the host sweeps what it does not know there.
      uploadDir: `${path.resolve(config.computeDir)}-uploads`,
    },
  };
}

export interface Nimbus {
  config: Pick<Config, 'bodyLimit'>;
  store: Store;
  services: CoreServices;
  http: FastifyInstance;
  worker: TaskWorker;
  /** The apps router's listener, when this process runs one (`routerPort` set, compute configured). */
  router: Server | undefined;
  /** Starts the background work (the task worker); the HTTP server is started by the caller. */
  start(): void;
  /**
   * Stops claiming tasks and lets running ones finish (bounded), ends long polls and event
   * streams, lets in-flight requests finish, then closes the store if it opened it (a store
   * handed in belongs to the caller).
   */
  close(): Promise<void>;
}

/**
 * Opens (or receives) the store, migrates it, and wires the services, the worker and the HTTP
 * server. A store handed in is the database `config.databaseUrl` names, when it names one.
 */
export async function createNimbus(
  config: Pick<Config, 'bodyLimit' | 'databaseUrl' | 'dataDir'> &
    Partial<TaskSettings> &
    Partial<Pick<Config, 'identity' | 'trustProxy' | 'appsDomain' | 'routerPort' | 'host' | 'appSourceLimit'>> &
    Partial<ComputeConfig> & { appRuntime?: Partial<AppRuntimeSettings> },
  logger: Logger,
  given?: Store,
): Promise<Nimbus> {
  const store = given ?? openStore(storeOptionsFor(config.databaseUrl, config.dataDir));
  const notifier = createNotifier(config.databaseUrl, logger);
  try {
    await migrateToLatest(store);
    const compute = computeFor(config);
    const apps = { domain: config.appsDomain ?? APPS_DEFAULTS.domain, routerPort: config.routerPort ?? APPS_DEFAULTS.routerPort };
    const services = createCoreServices(store, { notifier, identity: config.identity, compute, apps, appRuntime: { ...APP_RUNTIME_DEFAULTS, ...config.appRuntime } });
    const supervisor = compute ? services.apps.supervisor(logger) : undefined;
    const router = compute && config.routerPort !== 0 && config.routerPort !== undefined
      ? createRouter({
          routes: () => services.apps.routes.read(),
          access: (appId, line) => void services.apps.logs.append(appId, [{ source: 'router', line }]),
          refreshMs: ROUTER_REFRESH_MS,
          onError: (error) => logger.warn({ err: error }, 'the router could not read its routes'),
        })
      : undefined;
    const routerListener = router?.server();
    const workerSettings = {
      concurrency: config.workerConcurrency ?? TASK_DEFAULTS.workerConcurrency,
      leaseSeconds: config.taskLeaseSeconds ?? TASK_DEFAULTS.taskLeaseSeconds,
      retentionSeconds: config.taskRetentionSeconds ?? TASK_DEFAULTS.taskRetentionSeconds,
      shutdownGraceSeconds: config.shutdownGraceSeconds ?? TASK_DEFAULTS.shutdownGraceSeconds,
    };
    const worker = createTaskWorker({ store, events: services.events, notifier, handlers: services.taskHandlers, logger, settings: workerSettings });
    const http = await buildHttpServer({ store, services, logger, bodyLimit: config.bodyLimit, trustProxy: config.trustProxy, imageUploadLimit: config.imageUploadLimit, appSourceLimit: config.appSourceLimit });
    let starting: Promise<void> = Promise.resolve();
    return {
      config,
      store,
      services,
      http,
      worker,
      router: routerListener,
      start() {
        // Compute is reconciled before tasks run, so the sweep sees every record a task could act on.
        if (compute && workerSettings.concurrency > 0) starting = reconcile(services, logger).then(() => supervisor?.start()).then(() => worker.start());
        else worker.start();
        if (router && routerListener) {
          // A router that cannot listen (its port taken) is reported; the API and the apps still run.
          const routing = router.start().then(() => new Promise<void>((resolve, reject) => {
            routerListener.once('error', reject);
            routerListener.listen(config.routerPort, config.host ?? '127.0.0.1', () => {
              logger.info({ port: (routerListener.address() as AddressInfo).port }, 'apps router listening');
              resolve();
            });
          })).catch((error: unknown) => logger.error({ err: error }, `the apps router is not running: ${(error as Error).message} (set NIMBUS_ROUTER_PORT, or 0 to run none)`));
          starting = Promise.all([starting, routing]).then(() => undefined);
        }
      },
      async close() {
        await starting.catch(() => undefined);
        await worker.stop();
        services.tasks.close();
        services.events.close();
        services.commands.close();
        services.apps.close();
        await http.close();
        // App processes keep running without Nimbus: only watching and routing them stop.
        await supervisor?.stop();
        if (routerListener?.listening) {
          routerListener.closeAllConnections();
          await new Promise((resolve) => routerListener.close(resolve));
        }
        await router?.stop();
        await notifier.close();
        if (!given) await store.close();
      },
    };
  } catch (error) {
    await notifier.close();
    if (!given) await store.close();
    throw error;
  }
}

const ROUTER_REFRESH_MS = 250;

/** Corrects server states and releases leftovers (servers' and apps'); a host that cannot run servers is only reported. */
async function reconcile(services: CoreServices, logger: Logger): Promise<void> {
  try {
    const { corrected, released } = await services.compute.reconcile(logger);
    if (corrected || released.length) logger.info({ corrected, released: released.length }, 'compute reconciled');
    const swept = await services.apps.sweep();
    if (swept.length) logger.info({ released: swept.length }, 'apps reconciled');
  } catch (error) {
    logger.warn({ err: error }, `compute is unavailable: ${(error as Error).message}`);
  }
}
