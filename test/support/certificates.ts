import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** Why tests that make certificates cannot run here, or null when they can. */
export const opensslSkipReason = spawnSync('openssl', ['version']).status === 0 ? null : 'this test makes its certificates with openssl: apt-get install openssl';

export interface TestCertificate {
  cert: string;
  key: string;
}

/** A fresh self-signed certificate (P-256) valid for a day for `names` (the first is its subject), with its key, in PEM. */
export function selfSigned(names: string[]): TestCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-cert-'));
  try {
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${names[0]}`,
      '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    return { cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'), key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
