import { Command, InvalidArgumentError } from 'commander';
import { loadConfig, type ConfigOverrides } from '../config.ts';
import { openStore, storeOptionsFor } from '../store/database.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { NIMBUS_VERSION } from '../version.ts';
import { serve } from './serve.ts';

interface ServerFlags {
  host?: string;
  port?: number;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
  computeDir?: string;
  networkRange?: string;
  runc?: string;
  dnsAddress?: string;
  dnsPort?: number;
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

function overrides({ runc, ...flags }: ServerFlags): ConfigOverrides {
  return Object.fromEntries(Object.entries({ ...flags, runcPath: runc }).filter(([, v]) => v !== undefined)) as ConfigOverrides;
}

const program = new Command('nimbus').description('Nimbus: a self-hosted cloud platform control plane').version(NIMBUS_VERSION, '-v, --version');

withStoreFlags(
  program
    .command('serve')
    .description('run the API server')
    .option('--host <host>', 'address to listen on (env NIMBUS_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (env NIMBUS_PORT, default 8080)', port)
    .option('--compute-dir <dir>', 'where servers, volumes and images live (env NIMBUS_COMPUTE_DIR, default <data dir>/compute)')
    .option('--network-range <cidr>', "range the organizations' private networks come from (env NIMBUS_NETWORK_RANGE, default 10.77.0.0/16)")
    .option('--runc <path>', 'the runc binary (env NIMBUS_RUNC, default: found on PATH)')
    .option('--dns-address <address>', 'address the DNS server listens on (env NIMBUS_DNS_ADDRESS, default 127.0.0.1)')
    .option('--dns-port <port>', 'UDP and TCP port of the DNS server, 0 for none (env NIMBUS_DNS_PORT, default 8053)', port),
).action(async (flags: ServerFlags) => {
  await serve(loadConfig(overrides(flags)));
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
