import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
const ARGON2_OPTIONS = { algorithm: 2 /* Argon2id (a const enum the package exports only as a type) */, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return verify(passwordHash, password).catch(() => false);
}

/** A password for people to copy once: 24 characters from a URL-safe alphabet (~143 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
