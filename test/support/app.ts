import { Writable } from 'node:stream';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { freePort } from '../../bench/support/processes.ts';
import { createNimbus, type ComputeConfig, type DnsConfig, type Nimbus } from '../../src/app.ts';
import { computeTestSettings, knownCompute, releaseCompute } from './compute.ts';
import { DEFAULT_IDENTITY_SETTINGS, type Config, type IdentitySettings, type LIMIT_DEFAULTS, type TrustProxy } from '../../src/config.ts';
import { bootstrapIfEmpty } from '../../src/core/bootstrap.ts';
import { createLogger } from '../../src/logger.ts';
import type { TestDatabase } from './databases.ts';
import { bounded } from './eventually.ts';

export interface TestApp {
  nimbus: Nimbus;
  /** The bootstrap admin's API token. */
  token: string;
  adminPassword: string;
  /** The compute root, for an app that runs servers. */
  computeDir?: string;
  /** Everything the server logged, as text (tests assert secrets never appear here). */
  logs(): string;
  /** A request through the whole HTTP stack, authenticated as the admin unless `headers` says otherwise. */
  request(options: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export const ADMIN_PASSWORD = 'correct-horse-battery-staple';
/** The secret key of test apps; replicas of one test database share it, as real replicas must. */
export const TEST_SECRET_KEY = 'test-secret-key-that-is-long-enough-0123456789';

export interface TestAppOptions {
  bodyLimit?: number;
  /** Runs on the composed server before its worker starts (registers test task types...). */
  configure?: (nimbus: Nimbus) => void | Promise<void>;
  taskLeaseSeconds?: number;
  /** Task slots of the worker (16 unless given). */
  workerConcurrency?: number;
  /** Limits on commands and on requests that stay open (the defaults unless given). */
  limits?: Partial<Pick<Config, keyof typeof LIMIT_DEFAULTS>>;
  identity?: Partial<IdentitySettings>;
  /** Runs servers: the app gets its own compute root and network range, released on close; an object changes compute settings too. */
  compute?: boolean | Partial<Pick<ComputeConfig, 'destroyedRetentionSeconds'>>;
  trustProxy?: TrustProxy;
  /** DNS settings; with a `dnsPort`, the DNS server is started on it. */
  dns?: Partial<DnsConfig>;
  /** Surfaces given listeners of their own (port 0: any free port); every listener is then started on 127.0.0.1. */
  surfacePorts?: Record<string, number>;
  /** PEM files of a certificate and its key (NIMBUS_TLS_CERT, NIMBUS_TLS_KEY). */
  tls?: { cert: string; key: string };
  /** The catalog's currency, prices and region (NIMBUS_CURRENCY, NIMBUS_PRICES, NIMBUS_REGION). */
  catalog?: Config['catalog'];
  /** Workspace endpoints' base domain (NIMBUS_BASE_DOMAIN). */
  baseDomain?: string;
  /** Lines of logs kept per app (NIMBUS_APP_LOG_LINES). */
  appLogLines?: number;
  /** Seconds a request body to the ComputeStacks surface may take (NIMBUS_COMPUTESTACKS_BODY_TIMEOUT). */
  computestacksBodyTimeoutSeconds?: number;
}

export async function startTestApp(database: TestDatabase, { bodyLimit = 1024 * 1024, configure, taskLeaseSeconds, workerConcurrency, limits = {}, identity = {}, compute = false, trustProxy = false, dns = {}, surfacePorts, tls, catalog, computestacksBodyTimeoutSeconds, baseDomain, appLogLines }: TestAppOptions = {}): Promise<TestApp> {
  const { store, url, cleanup } = await database.open();
  const chunks: string[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }));
  const computeSettings = compute ? computeTestSettings() : undefined;
  // With compute, the apps router listens on a free port of its own (without, no router runs); the
  // drain is the default one, well above the router's refresh even on a loaded machine.
  const apps = compute ? { routerPort: await freePort(), routerTlsPort: await freePort(), appSourceLimit: 4 * 1024 * 1024, appRuntime: { healthTimeoutMs: 60_000, drainMs: 1_000, superviseIntervalMs: 200, attachWaitMs: 15_000 } } : {};
  const nimbus = await createNimbus(
    { bodyLimit, databaseUrl: url, dataDir: '', secretKey: TEST_SECRET_KEY, taskLeaseSeconds, workerConcurrency, ...limits, trustProxy, identity: { ...DEFAULT_IDENTITY_SETTINGS, ...identity }, ...computeSettings?.config, ...(typeof compute === 'object' ? compute : {}), ...dns, surfacePorts, tlsCert: tls?.cert, tlsKey: tls?.key, catalog, computestacksBodyTimeoutSeconds, baseDomain, appLogLines, ...apps },
    logger,
    store,
  );
  await configure?.(nimbus);
  const boot = await bootstrapIfEmpty(store, nimbus.services.tokens, { adminPassword: ADMIN_PASSWORD });
  if (!boot) throw new Error('a fresh test database must bootstrap');
  nimbus.start();
  if (nimbus.router) await bounded(nimbus.router.ready, 'the apps router to listen', 60_000);
  await nimbus.dns?.listen();
  if (surfacePorts) await nimbus.listeners.listen('127.0.0.1', 0);
  return {
    nimbus,
    token: boot.token,
    adminPassword: ADMIN_PASSWORD,
    computeDir: computeSettings?.config.computeDir,
    logs: () => chunks.join(''),
    request({ token, ...options }) {
      const key = token === undefined ? boot.token : token;
      const headers = { ...(key ? { authorization: `token="${key}"` } : {}), ...(options.headers ?? {}) };
      return nimbus.http.inject({ ...options, headers });
    },
    async close() {
      const known = computeSettings ? await knownCompute(nimbus) : undefined;
      await nimbus.close();
      if (computeSettings) {
        await releaseCompute(nimbus, known!);
        computeSettings.dispose();
      }
      await cleanup();
    },
  };
}
