import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { createCoreServices, type CoreServices } from './core/services.ts';
import { buildHttpServer } from './http/server.ts';
import { openStore, storeOptionsFor, type Store } from './store/database.ts';
import { migrateToLatest } from './store/migrate.ts';

export interface Nimbus {
  config: Pick<Config, 'bodyLimit'>;
  store: Store;
  services: CoreServices;
  http: FastifyInstance;
  /** Stops accepting requests, lets in-flight ones finish, then closes the store. */
  close(): Promise<void>;
}

/** Opens (or receives) the store, migrates it, and wires the services and the HTTP server. */
export async function createNimbus(
  config: Pick<Config, 'bodyLimit' | 'databaseUrl' | 'dataDir'> & Partial<Pick<Config, 'identity'>>,
  logger: Logger,
  given?: Store,
): Promise<Nimbus> {
  const store = given ?? openStore(storeOptionsFor(config.databaseUrl, config.dataDir));
  try {
    await migrateToLatest(store);
    const services = createCoreServices(store, config.identity);
    const http = await buildHttpServer({ store, services, logger, bodyLimit: config.bodyLimit });
    return {
      config,
      store,
      services,
      http,
      async close() {
        await http.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
