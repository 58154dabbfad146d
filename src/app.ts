import type { FastifyInstance } from 'fastify';
import { CATALOG_DEFAULTS } from './core/catalog/catalog-service.ts';
import type { Logger } from 'pino';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRuncAppHost } from './backends/apps/index.ts';
import { parseServerIdRange } from './backends/id-ranges.ts';
import { createAppsRouter, type AppsRouter } from './backends/router/nginx-router.ts';
import { createRuncHosts } from './backends/runc/index.ts';
import { createDnsServer, type DnsServer } from './backends/dns/server.ts';
import { createNotifySender } from './backends/dns/notify.ts';
import { APPS_DEFAULTS, COMPUTE_DEFAULTS, defaultSlotsPerTenant, DNS_DEFAULTS, LIMIT_DEFAULTS, SURFACE_DEFAULTS, TASK_DEFAULTS, type Config } from './config.ts';
import { APP_RUNTIME_DEFAULTS, type AppRuntimeSettings } from './core/apps/app-services.ts';
import { parseRange } from './core/compute/addresses.ts';
import { createSecretBox } from './core/secrets/secret-box.ts';
import { createCoreServices, type CoreServices } from './core/services.ts';
import { createTaskWorker, type TaskWorker } from './core/tasks/worker.ts';
import { buildListeners, type Listeners } from './http/listeners.ts';
import { createRequestLimits } from './http/rate-limit.ts';
import type { Surface } from './http/surface.ts';
import { openStore, storeOptionsFor, type Store } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';
import { createNotifier } from './store/notifier.ts';
import { cloudmcSurface } from './surfaces/cloudmc/index.ts';
import { computestacksSurface } from './surfaces/computestacks/index.ts';
import { nativeSurface } from './surfaces/native/index.ts';
import { scalewaySurface } from './surfaces/scaleway/index.ts';
import { scalingoSurface } from './surfaces/scalingo/index.ts';
import { loadSecretKey } from './store/secret-key.ts';

type TaskSettings = Pick<Config, keyof typeof TASK_DEFAULTS | 'workerSlotsPerTenant'>;
type LimitSettings = Pick<Config, keyof typeof LIMIT_DEFAULTS>;
/** Compute settings; without `computeDir` this process runs no servers (every compute request is a 503). */
export type ComputeConfig = Pick<Config, 'computeDir' | 'networkRange' | 'runcPath' | 'hostId' | 'stopTimeoutSeconds' | 'destroyedRetentionSeconds' | 'imageUploadLimit' | 'imageMaxBytes' | 'imageMaxFiles' | 'serverNat' | 'serverIdRange' | 'serverPool'>;

function computeFor(config: Partial<ComputeConfig>) {
  if (!config.computeDir) return undefined;
  const { compute, parts } = createRuncHosts({
    root: config.computeDir,
    runcPath: config.runcPath,
    imageLimits: { maxBytes: config.imageMaxBytes ?? COMPUTE_DEFAULTS.imageMaxBytes, maxEntries: config.imageMaxFiles ?? COMPUTE_DEFAULTS.imageMaxFiles },
    nat: config.serverNat ?? false,
    serverIds: parseServerIdRange(config.serverIdRange ?? COMPUTE_DEFAULTS.serverIdRange),
    spares: config.serverPool ?? COMPUTE_DEFAULTS.serverPool,
  });
  return {
    host: compute,
    appHost: createRuncAppHost(parts),
    settings: {
      hostId: config.hostId ?? 'local',
      networkRange: parseRange(config.networkRange ?? COMPUTE_DEFAULTS.networkRange),
      stopTimeoutMs: (config.stopTimeoutSeconds ?? COMPUTE_DEFAULTS.stopTimeoutSeconds) * 1000,
      destroyedRetentionMs: (config.destroyedRetentionSeconds ?? COMPUTE_DEFAULTS.destroyedRetentionSeconds) * 1000,
      // Beside the host's own directory, not in it: the host sweeps what it does not know there.
      uploadDir: `${path.resolve(config.computeDir)}-uploads`,
    },
  };
}

/** DNS settings; without `dnsPort` (or with 0) this process runs no DNS server. */
export type DnsConfig = Pick<Config, 'dnsAddress' | 'dnsPort' | 'dnsNameservers' | 'dnsSecondaries' | 'dnsUdpSize'>;

/** Apps settings; the router runs only with compute and a `routerPort` other than 0. */
export type AppsConfig = Pick<Config, 'appsDomain' | 'routerPort' | 'routerTlsPort' | 'appSourceLimit' | 'appLogLines'> & { appRuntime: Partial<AppRuntimeSettings> };

/**
 * The mount table: each surface at its prefix on the main listener and, when
 * `NIMBUS_<NAME>_PORT` gives it one, alone at the root of its own port.
 */
export function mountTable(services: CoreServices, config: Partial<Pick<Config, 'imageUploadLimit' | 'appSourceLimit' | 'surfacePorts' | 'scalingoRegion' | 'computestacksBodyTimeoutSeconds' | 'tlsCert' | 'tlsKey'>>): Surface[] {
  const limits = createRequestLimits(services.limiter, services.identity);
  const ports = config.surfacePorts ?? {};
  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : undefined;
  return [
    {
      name: 'native',
      prefix: '',
      port: ports.native,
      plugin: nativeSurface({
        services,
        limits,
        imageUploadLimit: config.imageUploadLimit ?? COMPUTE_DEFAULTS.imageUploadLimit,
        appSourceLimit: config.appSourceLimit ?? APPS_DEFAULTS.sourceLimit,
      }),
    },
    { name: 'cloudmc', prefix: '/compat/cloudmc', port: ports.cloudmc, plugin: cloudmcSurface({ services, limits }) },
    { name: 'scaleway', prefix: '/compat/scaleway', port: ports.scaleway, plugin: scalewaySurface({ services, limits }) },
    {
      name: 'scalingo',
      prefix: '/compat/scalingo',
      port: ports.scalingo,
      tls,
      plugin: scalingoSurface({
        services,
        limits,
        region: config.scalingoRegion ?? SURFACE_DEFAULTS.scalingoRegion,
        sourceLimit: config.appSourceLimit ?? APPS_DEFAULTS.sourceLimit,
        httpsOnly: tls !== undefined,
      }),
    },
    {
      name: 'computestacks',
      prefix: '/compat/computestacks',
      port: ports.computestacks,
      plugin: computestacksSurface({ services, limits, bodyTimeoutMs: (config.computestacksBodyTimeoutSeconds ?? SURFACE_DEFAULTS.computestacksBodyTimeoutSeconds) * 1000 }),
    },
  ];
}

export interface Nimbus {
  config: Pick<Config, 'bodyLimit'>;
  store: Store;
  services: CoreServices;
  /** The main listener (every surface at its prefix); `listeners` has the others too. */
  http: FastifyInstance;
  listeners: Listeners;
  worker: TaskWorker;
  /** The authoritative DNS server, when configured; the caller starts it (`listen()` gives its port). */
  dns: DnsServer | null;
  /**
   * The apps router (nginx, driven by this process) when this process runs one (`routerPort`
   * set, compute configured; HTTPS for custom domains when `routerTlsPort` is set too);
   * `start()` starts it.
   */
  router: AppsRouter | undefined;
  /** Starts the background work (the task worker); the listeners are started by the caller (`listeners.listen`). */
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
    Partial<LimitSettings> &
    Partial<Pick<Config, 'identity' | 'trustProxy' | 'baseDomain' | 'secretKey' | 'computeServiceCode' | 'surfacePorts' | 'scalingoRegion' | 'computestacksBodyTimeoutSeconds' | 'host' | 'tlsCert' | 'tlsKey' | 'catalog'>> &
    Partial<ComputeConfig> &
    Partial<DnsConfig> &
    Partial<AppsConfig>,
  logger: Logger,
  given?: Store,
): Promise<Nimbus> {
  const store = given ?? openStore(storeOptionsFor(config.databaseUrl, config.dataDir));
  const notifier = createNotifier(config.databaseUrl, logger);
  const notifySender = createNotifySender(logger);
  try {
    await migrateToLatest(store);
    const compute = computeFor(config);
    const dnsSettings = { nameservers: config.dnsNameservers ?? [...DNS_DEFAULTS.nameservers], secondaries: config.dnsSecondaries ?? [] };
    const services = createCoreServices(store, {
      secrets: createSecretBox(loadSecretKey(config)),
      notifier,
      identity: config.identity,
      compute,
      computeServiceCode: config.computeServiceCode,
      dns: { settings: dnsSettings, publisher: notifySender },
      limits: { ...LIMIT_DEFAULTS, ...definedOnly(config, Object.keys(LIMIT_DEFAULTS) as (keyof LimitSettings)[]) },
      apps: { domain: config.appsDomain ?? APPS_DEFAULTS.domain, routerPort: config.routerPort ?? APPS_DEFAULTS.routerPort },
      appRuntime: { ...APP_RUNTIME_DEFAULTS, ...(config.appLogLines === undefined ? {} : { logLinesPerApp: config.appLogLines }), ...config.appRuntime },
      catalog: config.catalog,
    });
    const supervisor = compute ? services.apps.supervisor(logger) : undefined;
    const router = compute && config.routerPort && config.computeDir
      ? createAppsRouter({
          host: config.host ?? '127.0.0.1',
          httpPort: config.routerPort,
          httpsPort: config.routerTlsPort ?? APPS_DEFAULTS.routerTlsPort,
          routes: () => services.apps.routes.read(),
          refreshMs: ROUTER_REFRESH_MS,
          access: (appId, lines) => void services.apps.logs.append(appId, lines.map(({ line, at }) => ({ source: 'router', line, at }))),
          drainMs: ROUTER_DRAIN_MS,
          directory: path.join(path.resolve(config.computeDir), 'router'),
          logger,
        })
      : undefined;
    await services.bearers.prepareStoredKeys();
    const concurrency = config.workerConcurrency ?? TASK_DEFAULTS.workerConcurrency;
    const dns = config.dnsPort
      ? createDnsServer({ authority: services.dns.authority, logger, address: config.dnsAddress ?? DNS_DEFAULTS.address, port: config.dnsPort, ednsUdpSize: config.dnsUdpSize ?? DNS_DEFAULTS.udpSize })
      : null;
    const workerSettings = {
      concurrency,
      slotsPerTenant: config.workerSlotsPerTenant ?? defaultSlotsPerTenant(concurrency),
      leaseSeconds: config.taskLeaseSeconds ?? TASK_DEFAULTS.taskLeaseSeconds,
      retentionSeconds: config.taskRetentionSeconds ?? TASK_DEFAULTS.taskRetentionSeconds,
      shutdownGraceSeconds: config.shutdownGraceSeconds ?? TASK_DEFAULTS.shutdownGraceSeconds,
    };
    const worker = createTaskWorker({ store, events: services.events, notifier, handlers: services.taskHandlers, logger, settings: workerSettings });
    const listeners = await buildListeners({
      surfaces: mountTable(services, config),
      logger,
      bodyLimit: config.bodyLimit,
      trustProxy: config.trustProxy,
      workspaces: config.baseDomain ? { baseDomain: config.baseDomain, region: config.catalog?.region ?? CATALOG_DEFAULTS.region } : undefined,
      checkReady: () => store.ping(),
    });
    // Rate-limit counts reach the shared table in the background; the last ones on close.
    const limiterFailed = (error: unknown) => logger.error({ err: error }, 'rate limit counters could not be saved');
    services.limiter.start(limiterFailed);
    let starting: Promise<void> = Promise.resolve();
    return {
      config,
      store,
      services,
      http: listeners.main,
      listeners,
      worker,
      dns,
      router,
      start() {
        services.dns.catalog.start();
        // Compute is reconciled before tasks run, so the sweep sees every record a task could act on.
        if (compute && workerSettings.concurrency > 0) starting = reconcile(services, logger).then(() => supervisor?.start()).then(() => worker.start());
        else worker.start();
        if (router) starting = Promise.all([starting, router.start()]).then(() => undefined);
      },
      async close() {
        // Stop accepting at once; in-flight requests finish while the worker winds down.
        const listenersClosed = listeners.close();
        await starting;
        // The router drains while the task worker winds down.
        const routerStopped = router?.stop();
        await worker.stop();
        // No task runs now: the spares made ahead for new servers go.
        await compute?.host.close();
        services.tasks.close();
        services.events.close();
        services.commands.close();
        services.outputChannels.close();
        services.websh.closeAll();
        services.apps.close();
        await listenersClosed;
        // App processes keep running without Nimbus: only watching and routing them stop.
        await supervisor?.stop();
        await routerStopped;
        await services.limiter.stop().catch(limiterFailed);
        await dns?.close();
        services.dns.catalog.close();
        notifySender.close();
        await notifier.close();
        if (!given) await store.close();
      },
    };
  } catch (error) {
    notifySender.close();
    await notifier.close();
    if (!given) await store.close();
    throw error;
  }
}

/** The settings `keys` that `config` sets (an undefined one falls back to its default). */
function definedOnly<T extends object, K extends keyof T>(config: T, keys: K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((key) => config[key] !== undefined).map((key) => [key, config[key]])) as Partial<Pick<T, K>>;
}

const ROUTER_REFRESH_MS = 250;
/** How long a stopping router lets requests and upgraded connections in flight finish. */
const ROUTER_DRAIN_MS = 10_000;

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
