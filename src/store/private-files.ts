import fs from 'node:fs';

const STICKY = 0o1000;
const PRIVATE_DIRECTORY_MODE = 0o711;

/**
 * The data directory and the files in it that hold secrets (the database, the secret key) are
 * readable by Nimbus's own user only, whatever the umask; an existing one is tightened, unless
 * it is a shared directory such as /tmp (sticky), which is not Nimbus's to change. Others may
 * pass through it (0711, never list it): servers run as unprivileged ids in their own user
 * namespaces and must reach their bundles under `compute/`.
 */
export function ensurePrivateDirectory(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  if ((fs.statSync(dir).mode & STICKY) === 0) fs.chmodSync(dir, PRIVATE_DIRECTORY_MODE);
}

/** Creates `file` empty when missing; either way it ends up 0600. */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o600));
  fs.chmodSync(file, 0o600);
}
