import { createRequire } from 'node:module';
import type pg from 'pg';

let driver: typeof pg | undefined;

/**
 * The PostgreSQL driver, loaded when a store or notifier first needs it: an installation on
 * SQLite never holds its 1.7 MiB of modules. Counts and BIGINTs come back from it as strings
 * by default; every one we read fits a double.
 */
export function postgresDriver(): typeof pg {
  if (!driver) {
    driver = createRequire(import.meta.url)('pg') as typeof pg;
    driver.types.setTypeParser(driver.types.builtins.INT8, (value) => Number(value));
  }
  return driver;
}
