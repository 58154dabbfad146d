import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SERVER_ID_RANGE, parseServerIdRange } from './backends/id-ranges.ts';
import { DEFAULT_IMAGE_LIMITS } from './backends/images/store.ts';
import { parseRange } from './core/compute/addresses.ts';
import { CATALOG_DEFAULTS, parsePriceList, pricedPackages, type CatalogSettings } from './core/catalog/catalog-service.ts';
import { DEFAULT_COMPUTE_SERVICE_CODE, isServiceCode } from './core/environments/service-connections.ts';
import { parseSecondary } from './core/dns/model.ts';
import { NameError, parseTargetName } from './core/dns/names.ts';
import { ValidationFailed } from './core/errors.ts';
import { SECRET_KEY_MIN_LENGTH } from './core/secrets/secret-box.ts';

/** Everything `nimbus serve` can be told. Flags win over environment variables. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://...` for the scale-out store; unset means SQLite under `dataDir`. */
  databaseUrl: string | undefined;
  logLevel: string;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /**
   * Which proxies' X-Forwarded-For/-Proto/-Host are believed (for client addresses, rate limits,
   * the audit log and the links Nimbus writes): false (none), a number of hops, or addresses and CIDRs.
   */
  trustProxy: TrustProxy;
  adminPassword: string | undefined;
  /** Tasks this process runs at once; 0 runs no task worker here (an API-only replica). */
  workerConcurrency: number;
  /** How long a claimed task stays with its worker without a heartbeat before another takes it over. */
  taskLeaseSeconds: number;
  /** How long finished tasks are kept before they are purged. */
  taskRetentionSeconds: number;
  /** On shutdown, how long running tasks may take to finish before they are handed back. */
  shutdownGraceSeconds: number;
  identity: IdentitySettings;
  /** Where the compute host keeps images, volumes and server bundles (default `<dataDir>/compute`). */
  computeDir: string;
  /** The IPv4 range organizations' private /24 networks are carved from. */
  networkRange: string;
  /** The runc binary; unset finds it on PATH. */
  runcPath: string | undefined;
  /** This machine's id, recorded on the servers it runs (default: the host name). */
  hostId: string;
  /** How long a server gets to stop after SIGTERM before it is killed. */
  stopTimeoutSeconds: number;
  /** How long a destroyed server is kept for recovery before it is purged. */
  destroyedRetentionSeconds: number;
  /** Largest image archive accepted by upload, in bytes. */
  imageUploadLimit: number;
  /** Apps are served at `<name>.<appsDomain>` by the router. */
  appsDomain: string;
  /** The router's HTTP port; 0 runs no router. */
  routerPort: number;
  /** The router's HTTPS port (custom domains with a certificate, chosen by SNI); 0 serves no HTTPS. */
  routerTlsPort: number;
  /** Largest app source archive accepted by a deployment, in bytes. */
  appSourceLimit: number;
  /** Lines of logs kept per app (its processes' output and the router's access lines): older ones are dropped. */
  appLogLines: number;
  /** `NIMBUS_<NAME>_PORT`: a listener of its own for the surface `<name>`, serving it at its root. */
  surfacePorts: Record<string, number>;
  /** Most bytes, and most files, one imported image may unpack to. */
  imageMaxBytes: number;
  imageMaxFiles: number;
  /** Servers reach the internet through NAT; otherwise only their own organization's network. */
  serverNat: boolean;
  /** `first-last`: the host ids each server's user namespace gets a block of 65536 from. */
  serverIdRange: string;
  /** Spare root volumes (per size) and image copies (per image) kept ready for new servers; 0: none. */
  serverPool: number;
  /** Of this process's task slots, the most one tenant (a top-level organization and everything below it) may hold at once. */
  workerSlotsPerTenant: number;
  /** Seconds a command may run when it names no timeout, and the most it may name. */
  commandTimeoutSeconds: number;
  commandTimeoutMaxSeconds: number;
  /** The most output characters stored per command; past it the oldest are cut. */
  commandOutputLimit: number;
  /** The largest file moved into or out of a server (Alpacon's webftp), in bytes. */
  transferLimit: number;
  /** Event streams, output streams and long polls open at once, per credential and in all, in this process. */
  streamsPerCredential: number;
  streamsPerProcess: number;
  /** Encrypts secrets kept in the database (bearer signing keys); unset: a key file in the data directory. */
  secretKey: string | undefined;
  /** A PEM certificate (chain) and its key: surfaces whose platform is HTTPS only (Scalingo) then serve HTTPS on their own port. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** The code of the compute service connection, as environments' services name it (`compute`). */
  computeServiceCode: string;
  /** `NIMBUS_BASE_DOMAIN`: workspace endpoints at `<organization slug>.<NIMBUS_REGION>.<base domain>`; unset: none. */
  baseDomain: string | undefined;
  /** The region the Scalingo surface names in `GET /v1/regions` (clients select it with `--region`). */
  scalingoRegion: string;
  /** Seconds a request body to the ComputeStacks surface may take to arrive before it is answered 408. */
  computestacksBodyTimeoutSeconds: number;
  /** The catalog: the currency of prices (`NIMBUS_CURRENCY`), prices over the defaults (`NIMBUS_PRICES`, `name=amount,...`) and the region (`NIMBUS_REGION`). */
  catalog: Omit<CatalogSettings, 'zones'>;
  /** Where the authoritative DNS server listens (UDP and TCP); port 0 runs none. */
  dnsAddress: string;
  dnsPort: number;
  /** The name servers of every zone (apex NS records; the first is the SOA's primary by default). */
  dnsNameservers: string[];
  /** Secondaries of every zone (`address` or `address:port`): notified of changes, allowed to transfer. */
  dnsSecondaries: string[];
  /** The largest UDP answer sent to EDNS0 clients. */
  dnsUdpSize: number;
}

export type TrustProxy = false | number | string[];

/** `NIMBUS_TRUST_PROXY`: unset or `false`, a hop count (`1`), or addresses and CIDRs, comma-separated. */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const given = value?.trim();
  if (!given || given === 'false') return false;
  if (/^\d+$/.test(given)) return Number(given);
  if (given === 'true') throw new ConfigError('NIMBUS_TRUST_PROXY=true would believe any client\'s X-Forwarded-For: name the proxies (addresses or CIDRs) or a hop count');
  const entries = given.split(',').map((e) => e.trim()).filter(Boolean);
  const bad = entries.find((e) => !/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(e));
  if (bad !== undefined) throw new ConfigError(`NIMBUS_TRUST_PROXY: "${bad}" is not an address or CIDR`);
  return entries;
}

/** Surfaces' settings' defaults. */
export const SURFACE_DEFAULTS = { scalingoRegion: 'nimbus', computestacksBodyTimeoutSeconds: 30 } as const;

/** Compute settings' defaults. */
export const COMPUTE_DEFAULTS = { networkRange: '10.77.0.0/16', serverIdRange: `${DEFAULT_SERVER_ID_RANGE.first}-${DEFAULT_SERVER_ID_RANGE.last}`, stopTimeoutSeconds: 10, destroyedRetentionSeconds: 86_400, imageUploadLimit: 2 * 1024 ** 3, imageMaxBytes: DEFAULT_IMAGE_LIMITS.maxBytes, imageMaxFiles: DEFAULT_IMAGE_LIMITS.maxEntries, serverPool: 2 } as const;

/** DNS settings' defaults. */
export const DNS_DEFAULTS = { address: '127.0.0.1', port: 8053, nameservers: ['localhost'], udpSize: 1232 } as const;

/** Apps settings' defaults. */
export const APPS_DEFAULTS = { domain: 'apps.localhost', routerPort: 8090, routerTlsPort: 8453, sourceLimit: 256 * 1024 ** 2, logLines: 10_000 } as const;
/** The fewest and the most lines of logs an app may be given. */
const APP_LOG_LINES = { min: 100, max: 1_000_000 } as const;

/** The task settings' defaults, for callers that compose Nimbus without `loadConfig`. */
export const TASK_DEFAULTS = { workerConcurrency: 16, taskLeaseSeconds: 30, taskRetentionSeconds: 30 * 60, shutdownGraceSeconds: 30 } as const;

/** A tenant's share of the worker slots when none is configured: half, so another tenant always finds room. */
export const defaultSlotsPerTenant = (concurrency: number) => Math.max(1, Math.ceil(concurrency / 2));

/** Limits on commands and on requests that stay open. */
export const LIMIT_DEFAULTS = {
  commandTimeoutSeconds: 3600,
  commandTimeoutMaxSeconds: 24 * 3600,
  commandOutputLimit: 8 * 1024 * 1024,
  transferLimit: 2 * 1024 ** 3,
  streamsPerCredential: 20,
  streamsPerProcess: 1000,
} as const;
/** Output is stored in chunks of up to 16 Ki characters: a limit below a few of them would keep almost nothing. */
const COMMAND_OUTPUT_LIMIT_MIN = 64 * 1024;

/** Sessions, login throttling, request rate limits and bearer signing keys. */
export interface IdentitySettings {
  /** Lifetime of a login session token (seconds). */
  sessionTtlSeconds: number;
  /** Failed logins allowed per account, and per client address, in one throttle window. */
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  throttleWindowSeconds: number;
  /** Requests per rate-limit window per credential, and per address without one; 0 is unlimited. */
  rateLimitPerCredential: number;
  rateLimitPerAddress: number;
  rateLimitWindowSeconds: number;
  /** How long one JWT signing key signs new bearers before the next takes over (seconds). */
  keyRotationSeconds: number;
}

export const DEFAULT_IDENTITY_SETTINGS: IdentitySettings = {
  sessionTtlSeconds: 24 * 3600,
  maxFailuresPerAccount: 5,
  maxFailuresPerAddress: 20,
  throttleWindowSeconds: 15 * 60,
  rateLimitPerCredential: 6000,
  rateLimitPerAddress: 600,
  rateLimitWindowSeconds: 60,
  keyRotationSeconds: 24 * 3600,
};

/** Environment variable of each identity setting. */
const IDENTITY_ENV: Record<keyof IdentitySettings, string> = {
  sessionTtlSeconds: 'NIMBUS_SESSION_TTL',
  maxFailuresPerAccount: 'NIMBUS_LOGIN_MAX_FAILURES_PER_ACCOUNT',
  maxFailuresPerAddress: 'NIMBUS_LOGIN_MAX_FAILURES_PER_ADDRESS',
  throttleWindowSeconds: 'NIMBUS_LOGIN_THROTTLE_WINDOW',
  rateLimitPerCredential: 'NIMBUS_RATE_LIMIT',
  rateLimitPerAddress: 'NIMBUS_RATE_LIMIT_ANONYMOUS',
  rateLimitWindowSeconds: 'NIMBUS_RATE_LIMIT_WINDOW',
  keyRotationSeconds: 'NIMBUS_JWT_KEY_ROTATION',
};

export type ConfigOverrides = Partial<Omit<Config, 'identity'>> & { identity?: Partial<IdentitySettings> };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  // The environment is read only for what no flag gave: a bad variable a flag overrides is harmless.
  const pick = <K extends Exclude<keyof Config, 'identity'>>(key: K, fromEnv: () => Config[K] | undefined, fallback: Config[K]): Config[K] =>
    (overrides[key] as Config[K] | undefined) ?? fromEnv() ?? fallback;

  const config: Config = {
    host: pick('host', () => env.NIMBUS_HOST || undefined, '127.0.0.1'),
    port: pick('port', () => parseInteger('NIMBUS_PORT', env.NIMBUS_PORT), 8080),
    dataDir: path.resolve(pick('dataDir', () => env.NIMBUS_DATA_DIR || undefined, './data')),
    databaseUrl: pick('databaseUrl', () => env.NIMBUS_DATABASE_URL || undefined, undefined),
    logLevel: pick('logLevel', () => env.NIMBUS_LOG_LEVEL || undefined, 'info'),
    bodyLimit: pick('bodyLimit', () => parseInteger('NIMBUS_BODY_LIMIT', env.NIMBUS_BODY_LIMIT), 1024 * 1024),
    trustProxy: pick('trustProxy', () => parseTrustProxy(env.NIMBUS_TRUST_PROXY), false),
    adminPassword: pick('adminPassword', () => env.NIMBUS_ADMIN_PASSWORD || undefined, undefined),
    workerConcurrency: pick('workerConcurrency', () => parseInteger('NIMBUS_WORKER_CONCURRENCY', env.NIMBUS_WORKER_CONCURRENCY), TASK_DEFAULTS.workerConcurrency),
    taskLeaseSeconds: pick('taskLeaseSeconds', () => parseInteger('NIMBUS_TASK_LEASE_SECONDS', env.NIMBUS_TASK_LEASE_SECONDS), TASK_DEFAULTS.taskLeaseSeconds),
    taskRetentionSeconds: pick('taskRetentionSeconds', () => parseInteger('NIMBUS_TASK_RETENTION_SECONDS', env.NIMBUS_TASK_RETENTION_SECONDS), TASK_DEFAULTS.taskRetentionSeconds),
    shutdownGraceSeconds: pick('shutdownGraceSeconds', () => parseInteger('NIMBUS_SHUTDOWN_GRACE_SECONDS', env.NIMBUS_SHUTDOWN_GRACE_SECONDS), TASK_DEFAULTS.shutdownGraceSeconds),
    identity: { ...DEFAULT_IDENTITY_SETTINGS },
    computeDir: '',
    networkRange: pick('networkRange', () => env.NIMBUS_NETWORK_RANGE || undefined, COMPUTE_DEFAULTS.networkRange),
    runcPath: pick('runcPath', () => env.NIMBUS_RUNC || undefined, undefined),
    hostId: pick('hostId', () => env.NIMBUS_HOST_ID || undefined, os.hostname()),
    stopTimeoutSeconds: pick('stopTimeoutSeconds', () => parseInteger('NIMBUS_STOP_TIMEOUT_SECONDS', env.NIMBUS_STOP_TIMEOUT_SECONDS), COMPUTE_DEFAULTS.stopTimeoutSeconds),
    destroyedRetentionSeconds: pick('destroyedRetentionSeconds', () => parseInteger('NIMBUS_SERVER_DESTROYED_RETENTION_SECONDS', env.NIMBUS_SERVER_DESTROYED_RETENTION_SECONDS), COMPUTE_DEFAULTS.destroyedRetentionSeconds),
    imageUploadLimit: pick('imageUploadLimit', () => parseInteger('NIMBUS_IMAGE_UPLOAD_LIMIT', env.NIMBUS_IMAGE_UPLOAD_LIMIT), COMPUTE_DEFAULTS.imageUploadLimit),
    appsDomain: pick('appsDomain', () => env.NIMBUS_APPS_DOMAIN || undefined, APPS_DEFAULTS.domain).toLowerCase(),
    routerPort: pick('routerPort', () => parseInteger('NIMBUS_ROUTER_PORT', env.NIMBUS_ROUTER_PORT), APPS_DEFAULTS.routerPort),
    routerTlsPort: pick('routerTlsPort', () => parseInteger('NIMBUS_ROUTER_TLS_PORT', env.NIMBUS_ROUTER_TLS_PORT), APPS_DEFAULTS.routerTlsPort),
    appSourceLimit: pick('appSourceLimit', () => parseInteger('NIMBUS_APP_SOURCE_LIMIT', env.NIMBUS_APP_SOURCE_LIMIT), APPS_DEFAULTS.sourceLimit),
    appLogLines: pick('appLogLines', () => parseInteger('NIMBUS_APP_LOG_LINES', env.NIMBUS_APP_LOG_LINES), APPS_DEFAULTS.logLines),
    surfacePorts: pick('surfacePorts', () => surfacePortsIn(env), {}),
    imageMaxBytes: pick('imageMaxBytes', () => parseInteger('NIMBUS_IMAGE_MAX_BYTES', env.NIMBUS_IMAGE_MAX_BYTES), COMPUTE_DEFAULTS.imageMaxBytes),
    imageMaxFiles: pick('imageMaxFiles', () => parseInteger('NIMBUS_IMAGE_MAX_FILES', env.NIMBUS_IMAGE_MAX_FILES), COMPUTE_DEFAULTS.imageMaxFiles),
    serverNat: pick('serverNat', () => parseBoolean('NIMBUS_SERVER_NAT', env.NIMBUS_SERVER_NAT), false),
    serverIdRange: pick('serverIdRange', () => env.NIMBUS_SERVER_ID_RANGE || undefined, COMPUTE_DEFAULTS.serverIdRange),
    serverPool: pick('serverPool', () => parseInteger('NIMBUS_SERVER_POOL', env.NIMBUS_SERVER_POOL), COMPUTE_DEFAULTS.serverPool),
    workerSlotsPerTenant: 0,
    commandTimeoutSeconds: pick('commandTimeoutSeconds', () => parseInteger('NIMBUS_COMMAND_TIMEOUT', env.NIMBUS_COMMAND_TIMEOUT), LIMIT_DEFAULTS.commandTimeoutSeconds),
    commandTimeoutMaxSeconds: pick('commandTimeoutMaxSeconds', () => parseInteger('NIMBUS_COMMAND_TIMEOUT_MAX', env.NIMBUS_COMMAND_TIMEOUT_MAX), LIMIT_DEFAULTS.commandTimeoutMaxSeconds),
    commandOutputLimit: pick('commandOutputLimit', () => parseInteger('NIMBUS_COMMAND_OUTPUT_LIMIT', env.NIMBUS_COMMAND_OUTPUT_LIMIT), LIMIT_DEFAULTS.commandOutputLimit),
    transferLimit: pick('transferLimit', () => parseInteger('NIMBUS_TRANSFER_LIMIT', env.NIMBUS_TRANSFER_LIMIT), LIMIT_DEFAULTS.transferLimit),
    streamsPerCredential: pick('streamsPerCredential', () => parseInteger('NIMBUS_STREAMS_PER_CREDENTIAL', env.NIMBUS_STREAMS_PER_CREDENTIAL), LIMIT_DEFAULTS.streamsPerCredential),
    streamsPerProcess: pick('streamsPerProcess', () => parseInteger('NIMBUS_STREAMS_PER_PROCESS', env.NIMBUS_STREAMS_PER_PROCESS), LIMIT_DEFAULTS.streamsPerProcess),
    secretKey: pick('secretKey', () => env.NIMBUS_SECRET_KEY || undefined, undefined),
    computeServiceCode: pick('computeServiceCode', () => env.NIMBUS_COMPUTE_SERVICE_CODE || undefined, DEFAULT_COMPUTE_SERVICE_CODE),
    tlsCert: pick('tlsCert', () => env.NIMBUS_TLS_CERT || undefined, undefined),
    tlsKey: pick('tlsKey', () => env.NIMBUS_TLS_KEY || undefined, undefined),
    baseDomain: pick('baseDomain', () => env.NIMBUS_BASE_DOMAIN?.trim().toLowerCase().replace(/\.$/, '') || undefined, undefined),
    scalingoRegion: pick('scalingoRegion', () => env.NIMBUS_SCALINGO_REGION || undefined, SURFACE_DEFAULTS.scalingoRegion),
    computestacksBodyTimeoutSeconds: pick(
      'computestacksBodyTimeoutSeconds',
      () => parseInteger('NIMBUS_COMPUTESTACKS_BODY_TIMEOUT', env.NIMBUS_COMPUTESTACKS_BODY_TIMEOUT),
      SURFACE_DEFAULTS.computestacksBodyTimeoutSeconds,
    ),
    catalog: pick('catalog', () => ({
      currency: env.NIMBUS_CURRENCY?.trim().toUpperCase() || CATALOG_DEFAULTS.currency,
      prices: env.NIMBUS_PRICES ? catalogField(() => parsePriceList(env.NIMBUS_PRICES!)) : {},
      region: env.NIMBUS_REGION?.trim() || CATALOG_DEFAULTS.region,
    }), CATALOG_DEFAULTS),
    dnsAddress: pick('dnsAddress', () => env.NIMBUS_DNS_ADDRESS || undefined, DNS_DEFAULTS.address),
    dnsPort: pick('dnsPort', () => parseInteger('NIMBUS_DNS_PORT', env.NIMBUS_DNS_PORT), DNS_DEFAULTS.port),
    dnsNameservers: pick('dnsNameservers', () => parseList(env.NIMBUS_DNS_NAMESERVERS), [...DNS_DEFAULTS.nameservers]),
    dnsSecondaries: pick('dnsSecondaries', () => parseList(env.NIMBUS_DNS_SECONDARIES), []),
    dnsUdpSize: pick('dnsUdpSize', () => parseInteger('NIMBUS_DNS_EDNS_UDP_SIZE', env.NIMBUS_DNS_EDNS_UDP_SIZE), DNS_DEFAULTS.udpSize),
  };
  config.workerSlotsPerTenant = pick('workerSlotsPerTenant', () => parseInteger('NIMBUS_WORKER_SLOTS_PER_TENANT', env.NIMBUS_WORKER_SLOTS_PER_TENANT), defaultSlotsPerTenant(config.workerConcurrency));
  config.dnsNameservers = parseNameservers(config.dnsNameservers);
  if (config.dnsSecondaries.some((s) => !parseSecondary(s))) throw new ConfigError(`NIMBUS_DNS_SECONDARIES: each is an IP address or address:port, got "${config.dnsSecondaries.join(',')}"`);
  if (config.dnsUdpSize < 512 || config.dnsUdpSize > 4096) throw new ConfigError('NIMBUS_DNS_EDNS_UDP_SIZE must be from 512 to 4096');
  if (!Number.isInteger(config.dnsPort) || config.dnsPort > 65535) throw new ConfigError(`NIMBUS_DNS_PORT must be a port from 0 (no DNS server) to 65535, got ${config.dnsPort}`);
  config.computeDir = path.resolve(pick('computeDir', () => env.NIMBUS_COMPUTE_DIR || undefined, path.join(config.dataDir, 'compute')));
  try {
    parseRange(config.networkRange);
    parseServerIdRange(config.serverIdRange);
  } catch (error) {
    if (error instanceof ValidationFailed) throw new ConfigError(error.message);
    if (error instanceof RangeError) throw new ConfigError(error.message);
    throw error;
  }
  for (const [key, name] of Object.entries(IDENTITY_ENV) as [keyof IdentitySettings, string][]) {
    const value = overrides.identity?.[key] ?? parseInteger(name, env[name]);
    if (value !== undefined) config.identity[key] = value;
  }
  for (const key of ['sessionTtlSeconds', 'throttleWindowSeconds', 'rateLimitWindowSeconds', 'keyRotationSeconds'] as const) {
    if (config.identity[key] < 1) throw new ConfigError(`${IDENTITY_ENV[key]} must be at least 1 second`);
  }
  const ports: [string, number][] = [['port', config.port], ...Object.entries(config.surfacePorts).map(([surface, p]): [string, number] => [`NIMBUS_${surface.toUpperCase()}_PORT`, p])];
  for (const [name, port] of ports) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${name} must be an integer between 0 and 65535, got ${port}`);
  }
  if (!Number.isInteger(config.routerPort) || config.routerPort > 65535) throw new ConfigError(`NIMBUS_ROUTER_PORT must be 0 (no router) or a port, got ${config.routerPort}`);
  if (!Number.isInteger(config.routerTlsPort) || config.routerTlsPort < 0 || config.routerTlsPort > 65535) throw new ConfigError(`NIMBUS_ROUTER_TLS_PORT must be 0 (no HTTPS) or a port, got ${config.routerTlsPort}`);
  if (!Number.isInteger(config.appLogLines) || config.appLogLines < APP_LOG_LINES.min || config.appLogLines > APP_LOG_LINES.max) {
    throw new ConfigError(`NIMBUS_APP_LOG_LINES must be a whole number of lines from ${APP_LOG_LINES.min} to ${APP_LOG_LINES.max}, got ${config.appLogLines}`);
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(config.appsDomain)) throw new ConfigError(`NIMBUS_APPS_DOMAIN must be a domain name, got "${config.appsDomain}"`);
  if (!LOG_LEVELS.includes(config.logLevel)) {
    throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}, got "${config.logLevel}"`);
  }
  if (!isServiceCode(config.computeServiceCode)) throw new ConfigError(`NIMBUS_COMPUTE_SERVICE_CODE: "${config.computeServiceCode}" is not a service code (lowercase letters, digits and inner hyphens, at most 50)`);
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) throw new ConfigError('NIMBUS_TLS_CERT and NIMBUS_TLS_KEY go together: give both, or neither');
  if (config.baseDomain !== undefined && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(config.baseDomain)) throw new ConfigError(`NIMBUS_BASE_DOMAIN must be a domain name with at least two labels (example.com), got "${config.baseDomain}"`);
  if (!isServiceCode(config.scalingoRegion)) throw new ConfigError(`NIMBUS_SCALINGO_REGION: "${config.scalingoRegion}" is not a region name (lowercase letters, digits and inner hyphens, at most 50)`);
  if (config.computestacksBodyTimeoutSeconds < 1) throw new ConfigError('NIMBUS_COMPUTESTACKS_BODY_TIMEOUT must be at least 1 second');
  catalogField(() => pricedPackages(config.catalog));
  if (!isServiceCode(config.catalog.region)) throw new ConfigError(`NIMBUS_REGION: "${config.catalog.region}" is not a region name (lowercase letters, digits and inner hyphens, at most 50)`);
  if (config.taskLeaseSeconds < 1) throw new ConfigError('NIMBUS_TASK_LEASE_SECONDS must be at least 1');
  if (config.workerSlotsPerTenant < 1) throw new ConfigError('NIMBUS_WORKER_SLOTS_PER_TENANT must be at least 1');
  for (const [value, name] of [[config.commandTimeoutSeconds, 'NIMBUS_COMMAND_TIMEOUT'], [config.commandTimeoutMaxSeconds, 'NIMBUS_COMMAND_TIMEOUT_MAX'], [config.streamsPerCredential, 'NIMBUS_STREAMS_PER_CREDENTIAL'], [config.streamsPerProcess, 'NIMBUS_STREAMS_PER_PROCESS']] as const) {
    if (value < 1) throw new ConfigError(`${name} must be at least 1`);
  }
  if (config.commandTimeoutSeconds > config.commandTimeoutMaxSeconds) throw new ConfigError('NIMBUS_COMMAND_TIMEOUT must not be more than NIMBUS_COMMAND_TIMEOUT_MAX');
  if (config.secretKey !== undefined && config.secretKey.length < SECRET_KEY_MIN_LENGTH) throw new ConfigError(`NIMBUS_SECRET_KEY must be at least ${SECRET_KEY_MIN_LENGTH} characters long`);
  if (config.commandOutputLimit < COMMAND_OUTPUT_LIMIT_MIN) throw new ConfigError(`NIMBUS_COMMAND_OUTPUT_LIMIT must be at least ${COMMAND_OUTPUT_LIMIT_MIN} characters`);
  if (config.databaseUrl && !/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    throw new ConfigError('NIMBUS_DATABASE_URL must start with postgres:// (leave it unset for the embedded SQLite store)');
  }
  return config;
}

/** `NIMBUS_<NAME>_PORT` settings that name something other than an HTTP surface. */
// Ports of listeners that are not API surfaces: the DNS server's and the apps router's.
const NON_SURFACE_PORTS = new Set(['dns', 'router']);

/** Every `NIMBUS_<NAME>_PORT` of the environment, by lower-case surface name; undefined when there is none. */
function surfacePortsIn(env: NodeJS.ProcessEnv): Record<string, number> | undefined {
  const ports: Record<string, number> = {};
  for (const [variable, value] of Object.entries(env)) {
    const name = /^NIMBUS_([A-Z][A-Z0-9]*)_PORT$/.exec(variable)?.[1]?.toLowerCase();
    if (name && value && !NON_SURFACE_PORTS.has(name)) ports[name] = parseInteger(variable, value)!;
  }
  return Object.keys(ports).length ? ports : undefined;
}

function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

/** A comma-separated list; unset or empty is undefined (the default applies). */
/** A catalog setting's field error as the configuration error it is. */
function catalogField<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ValidationFailed) throw new ConfigError(Object.entries(error.fields).map(([field, messages]) => `${field}: ${messages.join(' ')}`).join('; '));
    throw error;
  }
}

function parseList(value: string | undefined): string[] | undefined {
  const items = value?.split(',').map((v) => v.trim()).filter(Boolean);
  return items?.length ? items : undefined;
}

/** `NIMBUS_DNS_NAMESERVERS`: host names, absolute, stored without their final dot. */
function parseNameservers(names: string[]): string[] {
  return names.map((name) => {
    try {
      return parseTargetName(name, '', { host: true });
    } catch (error) {
      if (error instanceof NameError) throw new ConfigError(`NIMBUS_DNS_NAMESERVERS: "${name}": ${error.message}`);
      throw error;
    }
  });
}

function parseInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number, got "${value}"`);
  return Number(value);
}
