import path from 'node:path';

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
  adminPassword: string | undefined;
  /** Tasks this process runs at once; 0 runs no task worker here (an API-only replica). */
  workerConcurrency: number;
  /** How long a claimed task stays with its worker without a heartbeat before another takes it over. */
  taskLeaseSeconds: number;
  /** How long finished tasks are kept before they are purged. */
  taskRetentionSeconds: number;
  /** On shutdown, how long running tasks may take to finish before they are handed back. */
  shutdownGraceSeconds: number;
}

/** The task settings' defaults, for callers that compose Nimbus without `loadConfig`. */
export const TASK_DEFAULTS = { workerConcurrency: 16, taskLeaseSeconds: 30, taskRetentionSeconds: 30 * 60, shutdownGraceSeconds: 30 } as const;

export type ConfigOverrides = Partial<Config>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  // The environment is read only for what no flag gave: a bad variable a flag overrides is harmless.
  const pick = <K extends keyof Config>(key: K, fromEnv: () => Config[K] | undefined, fallback: Config[K]): Config[K] =>
    overrides[key] ?? fromEnv() ?? fallback;

  const config: Config = {
    host: pick('host', () => env.NIMBUS_HOST || undefined, '127.0.0.1'),
    port: pick('port', () => parseInteger('NIMBUS_PORT', env.NIMBUS_PORT), 8080),
    dataDir: path.resolve(pick('dataDir', () => env.NIMBUS_DATA_DIR || undefined, './data')),
    databaseUrl: pick('databaseUrl', () => env.NIMBUS_DATABASE_URL || undefined, undefined),
    logLevel: pick('logLevel', () => env.NIMBUS_LOG_LEVEL || undefined, 'info'),
    bodyLimit: pick('bodyLimit', () => parseInteger('NIMBUS_BODY_LIMIT', env.NIMBUS_BODY_LIMIT), 1024 * 1024),
    adminPassword: pick('adminPassword', () => env.NIMBUS_ADMIN_PASSWORD || undefined, undefined),
    workerConcurrency: pick('workerConcurrency', () => parseInteger('NIMBUS_WORKER_CONCURRENCY', env.NIMBUS_WORKER_CONCURRENCY), TASK_DEFAULTS.workerConcurrency),
    taskLeaseSeconds: pick('taskLeaseSeconds', () => parseInteger('NIMBUS_TASK_LEASE_SECONDS', env.NIMBUS_TASK_LEASE_SECONDS), TASK_DEFAULTS.taskLeaseSeconds),
    taskRetentionSeconds: pick('taskRetentionSeconds', () => parseInteger('NIMBUS_TASK_RETENTION_SECONDS', env.NIMBUS_TASK_RETENTION_SECONDS), TASK_DEFAULTS.taskRetentionSeconds),
    shutdownGraceSeconds: pick('shutdownGraceSeconds', () => parseInteger('NIMBUS_SHUTDOWN_GRACE_SECONDS', env.NIMBUS_SHUTDOWN_GRACE_SECONDS), TASK_DEFAULTS.shutdownGraceSeconds),
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new ConfigError(`port must be an integer between 0 and 65535, got ${config.port}`);
  }
  if (!LOG_LEVELS.includes(config.logLevel)) {
    throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}, got "${config.logLevel}"`);
  }
  if (config.taskLeaseSeconds < 1) throw new ConfigError('NIMBUS_TASK_LEASE_SECONDS must be at least 1');
  if (config.databaseUrl && !/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    throw new ConfigError('NIMBUS_DATABASE_URL must start with postgres:// (leave it unset for the embedded SQLite store)');
  }
  return config;
}

function parseInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number, got "${value}"`);
  return Number(value);
}
