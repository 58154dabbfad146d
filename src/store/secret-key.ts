import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SECRET_KEY_MIN_LENGTH } from '../core/secrets/secret-box.ts';
import { ensurePrivateDirectory } from './private-files.ts';

export const SECRET_KEY_FILE = 'secret.key';

/**
 * The key that encrypts secrets kept in the database: `NIMBUS_SECRET_KEY` when set, otherwise
 * `<data dir>/secret.key`, created (0600) with a random key at first start. It is not in the
 * database on purpose: back it up apart from the database, and give every replica the same one.
 */
export function loadSecretKey({ secretKey, dataDir }: { secretKey?: string; dataDir: string }): string {
  if (secretKey !== undefined) {
    if (secretKey.length < SECRET_KEY_MIN_LENGTH) throw new Error(`NIMBUS_SECRET_KEY must be at least ${SECRET_KEY_MIN_LENGTH} characters long`);
    return secretKey;
  }
  if (!dataDir) throw new Error('set NIMBUS_SECRET_KEY, or a data directory to keep the secret key file in');
  ensurePrivateDirectory(dataDir);
  const file = path.join(dataDir, SECRET_KEY_FILE);
  try {
    // `wx`: of two processes starting at once, one creates the file and the other reads it.
    fs.writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = fs.readFileSync(file, 'utf8').trim();
  if (key.length < SECRET_KEY_MIN_LENGTH) throw new Error(`${file} must hold a key of at least ${SECRET_KEY_MIN_LENGTH} characters`);
  return key;
}
