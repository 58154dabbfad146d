import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
/** Shorter than this, a configured key is too guessable to protect anything. */
export const SECRET_KEY_MIN_LENGTH = 32;

export class SecretKeyMismatch extends Error {}

export type SecretBox = ReturnType<typeof createSecretBox>;

/**
 * Encrypts the secrets Nimbus must keep usable in the database (bearer signing keys), with a key
 * kept outside it, so that a copy of the database alone (a backup, a dump, a read-only leak)
 * does not hold them. AES-256-GCM with a key derived from the configured text; each value is
 * bound to what it belongs to (`context`, e.g. its row id), so values cannot be swapped between rows.
 */
export function createSecretBox(keyText: string) {
  if (keyText.length < SECRET_KEY_MIN_LENGTH) throw new Error(`the secret key must be at least ${SECRET_KEY_MIN_LENGTH} characters long`);
  const key = Buffer.from(hkdfSync('sha256', keyText, 'nimbus', 'nimbus secret box v1', 32));
  const b64 = (data: Buffer) => data.toString('base64url');

  return {
    /** `v1.<iv>.<ciphertext>.<tag>`, base64url parts. */
    seal(plain: Buffer, context: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, key, iv).setAAD(Buffer.from(context));
      const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
      return [VERSION, b64(iv), b64(sealed), b64(cipher.getAuthTag())].join('.');
    },
    /** The plain value; throws `SecretKeyMismatch` when this key did not seal it (or it was altered). */
    open(sealed: string, context: string): Buffer {
      const [version, iv, data, tag] = sealed.split('.');
      if (version !== VERSION || !iv || data === undefined || !tag) throw new SecretKeyMismatch('not a sealed value');
      try {
        const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(context)).setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
      } catch {
        throw new SecretKeyMismatch('a stored secret was sealed with another secret key: give every process the same NIMBUS_SECRET_KEY (or the same key file)');
      }
    },
    isSealed: (value: string) => value.startsWith(`${VERSION}.`),
  };
}
