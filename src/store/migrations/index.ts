import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0100 from './0100_identity.ts';

/**
 * Every migration, in order. Names sort by their number prefix; a migration, once released,
 * never changes: add a new one instead.
 */
const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0100_identity': m0100,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
