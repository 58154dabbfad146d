import { createNimbus, type Nimbus } from '../app.ts';
import type { Config } from '../config.ts';
import { bootstrapIfEmpty } from '../core/bootstrap.ts';
import { createLogger } from '../logger.ts';

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

/**
 * `nimbus serve`: composes the server, starts the listeners, bootstraps an empty database, starts
 * the task worker, and shuts down gracefully on SIGTERM/SIGINT. `configure` runs on the composed
 * server before anything starts (for instance to register more task handlers).
 */
export async function serve(config: Config, configure?: (nimbus: Nimbus) => void): Promise<Nimbus> {
  const logger = createLogger(config.logLevel);
  const nimbus = await createNimbus(config, logger);
  configure?.(nimbus);
  const starting = (async () => {
    // Listening first: were the address taken, the one-time credentials would be lost with the exit.
    const address = await nimbus.listeners.listen(config.host, config.port);
    const dnsPort = await nimbus.dns?.listen();
    if (dnsPort) logger.info(`DNS server listening at ${config.dnsAddress}:${dnsPort} (UDP and TCP)`);
    const bootstrapped = await bootstrapIfEmpty(nimbus.store, nimbus.services.tokens, { adminPassword: config.adminPassword });
    if (bootstrapped) printBootstrap(bootstrapped, address);
    nimbus.start();
  })();

  // Installed before listening, so that a signal at any moment gets an orderly stop; a stop
  // during start-up lets the start-up finish first (a bootstrap is never cut in half).
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await starting.catch(() => undefined);
    logger.info({ signal }, 'shutting down: finishing running tasks and in-flight requests');
    await nimbus.close();
    logger.info('stopped');
    // Exit only once the last lines are written: a slow stdout would otherwise lose them.
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await starting;
  return nimbus;
}
