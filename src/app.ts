import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import path from 'node:path';
import { createRuncHost } from './backends/runc/index.ts';
import { COMPUTE_DEFAULTS, defaultSlotsPerTenant, LIMIT_DEFAULTS, TASK_DEFAULTS, type Config } from './config.ts';
import { parseRange } from './core/compute/addresses.ts';
import { createSecretBox } from './core/secrets/secret-box.ts';
import { createCoreServices, type CoreServices } from './core/services.ts';
import { createTaskWorker, type TaskWorker } from './core/tasks/worker.ts';
import { buildHttpServer } from './http/server.ts';
import { openStore, storeOptionsFor, type Store } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';
import { createNotifier } from './store/notifier.ts';
import { loadSecretKey } from './store/secret-key.ts';

type TaskSettings = Pick<Config, keyof typeof TASK_DEFAULTS | 'workerSlotsPerTenant'>;
type LimitSettings = Pick<Config, keyof typeof LIMIT_DEFAULTS>;
/** Compute settings; without `computeDir` this process runs no servers (every compute request is a 503). */
export type ComputeConfig = Pick<Config, 'computeDir' | 'networkRange' | 'runcPath' | 'hostId' | 'stopTimeoutSeconds' | 'imageUploadLimit'>;

function computeFor(config: Partial<ComputeConfig>) {
  if (!config.computeDir) return undefined;
  return {
    host: createRuncHost({ root: config.computeDir, runcPath: config.runcPath }),
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
  config: Pick<Config, 'bodyLimit' | 'databaseUrl' | 'dataDir'> & Partial<TaskSettings> & Partial<LimitSettings> & Partial<Pick<Config, 'identity' | 'trustProxy' | 'secretKey'>> & Partial<ComputeConfig>,
  logger: Logger,
  given?: Store,
): Promise<Nimbus> {
  const store = given ?? openStore(storeOptionsFor(config.databaseUrl, config.dataDir));
  const notifier = createNotifier(config.databaseUrl, logger);
  try {
    await migrateToLatest(store);
    const compute = computeFor(config);
    const services = createCoreServices(store, {
      secrets: createSecretBox(loadSecretKey(config)),
      notifier,
      identity: config.identity,
      compute,
      limits: { ...LIMIT_DEFAULTS, ...definedOnly(config, Object.keys(LIMIT_DEFAULTS) as (keyof LimitSettings)[]) },
    });
    await services.bearers.prepareStoredKeys();
    const concurrency = config.workerConcurrency ?? TASK_DEFAULTS.workerConcurrency;
    const workerSettings = {
      concurrency,
      slotsPerTenant: config.workerSlotsPerTenant ?? defaultSlotsPerTenant(concurrency),
      leaseSeconds: config.taskLeaseSeconds ?? TASK_DEFAULTS.taskLeaseSeconds,
      retentionSeconds: config.taskRetentionSeconds ?? TASK_DEFAULTS.taskRetentionSeconds,
      shutdownGraceSeconds: config.shutdownGraceSeconds ?? TASK_DEFAULTS.shutdownGraceSeconds,
    };
    const worker = createTaskWorker({ store, events: services.events, notifier, handlers: services.taskHandlers, logger, settings: workerSettings });
    const http = await buildHttpServer({ store, services, logger, bodyLimit: config.bodyLimit, trustProxy: config.trustProxy, imageUploadLimit: config.imageUploadLimit });
    let starting: Promise<void> = Promise.resolve();
    return {
      config,
      store,
      services,
      http,
      worker,
      start() {
        // Compute is reconciled before tasks run, so the sweep sees every record a task could act on.
        if (compute && workerSettings.concurrency > 0) starting = reconcile(services, logger).then(() => worker.start());
        else worker.start();
      },
      async close() {
        await starting;
        await worker.stop();
        services.tasks.close();
        services.events.close();
        services.commands.close();
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

/** The settings `keys` that `config` sets (an undefined one falls back to its default). */
function definedOnly<T extends object, K extends keyof T>(config: T, keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((key) => config[key] !== undefined).map((key) => [key, config[key]])) as Partial<Pick<T, K>>;
}

/** Corrects server states and releases leftovers; a host that cannot run servers is only reported. */
async function reconcile(services: CoreServices, logger: Logger): Promise<void> {
  try {
    const { corrected, released } = await services.compute.reconcile(logger);
    if (corrected || released.length) logger.info({ corrected, released: released.length }, 'compute reconciled');
  } catch (error) {
    logger.warn({ err: error }, `compute is unavailable: ${(error as Error).message}`);
  }
}
