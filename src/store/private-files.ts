import fs from 'node:fs';

const STICKY = 0o1000;

/**
 * The data directory and the files in it that hold secrets (the database, the secret key) are
 * readable by Nimbus's own user only, whatever the umask; an existing one is tightened, unless
 * it is a shared directory such as /tmp (sticky), which is not Nimbus's to change.
 */
export function ensurePrivateDirectory(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((fs.statSync(dir).mode & STICKY) === 0) fs.chmodSync(dir, 0o700);
}

/** Creates `file` empty when missing; either way it ends up 0600. */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o600));
  fs.chmodSync(file, 0o600);
}
