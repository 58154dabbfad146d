import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { TASK_DEFAULTS, type Config } from './config.ts';
import { createCoreServices, type CoreServices } from './core/services.ts';
import { createTaskWorker, type TaskWorker } from './core/tasks/worker.ts';
import { buildHttpServer } from './http/server.ts';
import { openStore, storeOptionsFor, type Store } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';
import { createNotifier } from './store/notifier.ts';

type TaskSettings = Pick<Config, keyof typeof TASK_DEFAULTS>;

export interface Nimbus {
  config: Pick<Config, 'bodyLimit'>;
  store: Store;
  services: CoreServices;
  http: FastifyInstance;
  worker: TaskWorker;
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
  config: Pick<Config, 'bodyLimit' | 'databaseUrl' | 'dataDir'> & Partial<TaskSettings> & Partial<Pick<Config, 'identity'>>,
  logger: Logger,
  given?: Store,
): Promise<Nimbus> {
  const store = given ?? openStore(storeOptionsFor(config.databaseUrl, config.dataDir));
  const notifier = createNotifier(config.databaseUrl, logger);
  try {
    await migrateToLatest(store);
    const services = createCoreServices(store, { notifier, identity: config.identity });
    const tasks = { ...TASK_DEFAULTS, ...Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) } as TaskSettings;
    const worker = createTaskWorker({
      store,
      events: services.events,
      notifier,
      handlers: services.taskHandlers,
      logger,
      settings: {
        concurrency: tasks.workerConcurrency,
        leaseSeconds: tasks.taskLeaseSeconds,
        retentionSeconds: tasks.taskRetentionSeconds,
        shutdownGraceSeconds: tasks.shutdownGraceSeconds,
      },
    });
    const http = await buildHttpServer({ store, services, logger, bodyLimit: config.bodyLimit });
    return {
      config,
      store,
      services,
      http,
      worker,
      start: () => worker.start(),
      async close() {
        await worker.stop();
        services.tasks.close();
        services.events.close();
        await http.close();
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
