import { Command, InvalidArgumentError } from 'commander';
import { createNimbus } from '../app.ts';
import { loadConfig, type ConfigOverrides } from '../config.ts';
import { bootstrapIfEmpty } from '../core/bootstrap.ts';
import { createLogger } from '../logger.ts';
import { openStore, storeOptionsFor } from '../store/database.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { NIMBUS_VERSION } from '../version.ts';

interface ServerFlags {
  host?: string;
  port?: number;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535');
  return Number(value);
}

function withStoreFlags(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data directory for the embedded SQLite store (env NIMBUS_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'postgres://... to use PostgreSQL instead (env NIMBUS_DATABASE_URL)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env NIMBUS_LOG_LEVEL, default info)');
}

function overrides(flags: ServerFlags): ConfigOverrides {
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as ConfigOverrides;
}

function printBootstrap(result: NonNullable<Awaited<ReturnType<typeof bootstrapIfEmpty>>>, address: string): void {
  const lines = [
    '',
    'Nimbus is set up. These credentials are shown once and never again:',
    `  organization:    ${result.organization.slug} (${result.organization.id})`,
    `  admin user:      ${result.username}`,
    result.generatedPassword ? `  admin password:  ${result.generatedPassword}` : '  admin password:  (from NIMBUS_ADMIN_PASSWORD)',
    `  admin API token: ${result.token}`,
    '',
    `  try: curl -H 'Authorization: token="${result.token}"' ${address}/api/status/`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

const program = new Command('nimbus').description('Nimbus: a self-hosted cloud platform control plane').version(NIMBUS_VERSION, '-v, --version');

withStoreFlags(
  program
    .command('serve')
    .description('run the API server')
    .option('--host <host>', 'address to listen on (env NIMBUS_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (env NIMBUS_PORT, default 8080)', port),
).action(async (flags: ServerFlags) => {
  const config = loadConfig(overrides(flags));
  const logger = createLogger(config.logLevel);
  const nimbus = await createNimbus(config, logger);
  const starting = (async () => {
    // Listening first: were the address taken, the one-time credentials would be lost with the exit.
    const address = await nimbus.http.listen({ host: config.host, port: config.port });
    const bootstrapped = await bootstrapIfEmpty(nimbus.store, nimbus.services.tokens, { adminPassword: config.adminPassword });
    if (bootstrapped) printBootstrap(bootstrapped, address);
  })();

  // Installed before listening, so that a signal at any moment gets an orderly stop; a stop
  // during start-up lets the start-up finish first (a bootstrap is never cut in half).
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await starting.catch(() => undefined);
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    await nimbus.close();
    logger.info('stopped');
    // Exit only once the last lines are written: a slow stdout would otherwise lose them.
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await starting;
});

withStoreFlags(program.command('migrate').description('apply database migrations and exit')).action(async (flags: ServerFlags) => {
  const config = loadConfig(overrides(flags));
  const store = openStore(storeOptionsFor(config.databaseUrl, config.dataDir));
  try {
    const { applied } = await migrateToLatest(store);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'the database is up to date\n');
  } finally {
    await store.close();
  }
});

program
  .command('version')
  .description('print the version')
  .action(() => {
    process.stdout.write(`nimbus ${NIMBUS_VERSION}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`nimbus: ${describe(error)}\n`);
  process.exit(1);
}

/** A one-line reason. Some system errors (a refused connection to each of a host's addresses) have an empty message. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message) return describe(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return error.message || (typeof code === 'string' ? code : error.name);
}
