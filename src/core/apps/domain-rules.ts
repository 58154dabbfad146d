import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { FieldErrors } from '../errors.ts';

/** The rules of custom domains and their certificates, each adding DRF-style messages to `errors`. */

export const DOMAIN_NAME_MAX = 253;
/** A certificate with its chain, and a private key, in PEM: well above any real one, far below the body limit. */
export const TLS_CERT_MAX = 65_536;
export const TLS_KEY_MAX = 16_384;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A domain name as it is stored and routed: lowercase, no trailing dot. */
export function normalDomainName(value: string): string {
  return value.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * A host name of two labels or more, not an address, and not under the apps domain: those names
 * are the apps' own (`<app>.<apps domain>`), and a custom domain there would take another app's traffic.
 */
export function checkDomainName(errors: FieldErrors, field: string, value: unknown, appsDomain: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    errors[field] = ['This field is required.'];
    return;
  }
  const name = normalDomainName(value);
  const labels = name.split('.');
  if (name.length > DOMAIN_NAME_MAX || labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels.at(-1)!)) {
    errors[field] = ['Enter a domain name such as www.example.com (letters, digits and hyphens in dot-separated labels).'];
  } else if (name === appsDomain || name.endsWith(`.${appsDomain}`)) {
    errors[field] = [`Names under ${appsDomain} are the apps' own: choose a domain of yours.`];
  }
}

export interface CheckedCertificate {
  /** The certificate's PEM blocks, leaf first. */
  cert: string;
  /** The key in PKCS #8 PEM. */
  key: string;
  expiresAt: string;
}

/**
 * A certificate (chain) and its private key for the domain `name`, in PEM: the key must be the
 * certificate's, the certificate must cover the name and be valid now. Errors name the fields
 * `tls_cert` and `tls_key`; the key never appears in a message.
 */
export function checkCertificate(errors: FieldErrors, input: { cert: unknown; key: unknown }, name: string, now = new Date()): CheckedCertificate | undefined {
  if (typeof input.cert !== 'string' || input.cert.length > TLS_CERT_MAX) errors.tls_cert = [`Give the certificate (and its chain) in PEM, at most ${TLS_CERT_MAX} characters.`];
  if (typeof input.key !== 'string' || input.key.length > TLS_KEY_MAX) errors.tls_key = [`Give the certificate's private key in PEM, at most ${TLS_KEY_MAX} characters.`];
  if (errors.tls_cert || errors.tls_key) return undefined;
  const blocks = (input.cert as string).match(PEM_CERTIFICATE) ?? [];
  let certificate: X509Certificate | undefined;
  try {
    if (blocks.length) {
      certificate = new X509Certificate(blocks[0]!);
      for (const block of blocks.slice(1)) new X509Certificate(block);
    }
  } catch {
    certificate = undefined;
  }
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey({ key: input.key as string, format: 'pem' });
  } catch {
    errors.tls_key = ['This is not a private key in PEM (an encrypted key must be decrypted first).'];
  }
  if (!certificate) {
    errors.tls_cert = ['This is not a certificate in PEM.'];
    return undefined;
  }
  if (key && !certificate.checkPrivateKey(key)) errors.tls_key = ['This key does not match the certificate.'];
  const messages: string[] = [];
  if (!certificate.checkHost(name, { subject: 'default' })) messages.push(`The certificate does not cover ${name}.`);
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (notAfter <= now) messages.push(`The certificate expired on ${notAfter.toISOString()}.`);
  else if (notBefore > now) messages.push(`The certificate is not valid before ${notBefore.toISOString()}.`);
  if (messages.length) errors.tls_cert = messages;
  if (errors.tls_cert || errors.tls_key) return undefined;
  return { cert: `${blocks.join('\n')}\n`, key: key!.export({ type: 'pkcs8', format: 'pem' }) as string, expiresAt: notAfter.toISOString() };
}
