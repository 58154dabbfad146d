import type { SecretBox } from '../secrets/secret-box.ts';

export type Capabilities = ReturnType<typeof createCapabilities>;

/**
 * Short-lived capabilities carried in URLs (a source's upload and download URLs, an app's logs
 * URL): what they grant, sealed with the installation's secret key and bound to their purpose,
 * so a token can neither be forged, altered, outlive its expiry nor serve another purpose.
 * Whoever holds one may do that one thing until it expires: they are given only to a caller
 * allowed to do it, and kept short.
 */
export function createCapabilities(secrets: SecretBox, now: () => number = Date.now) {
  const context = (purpose: string) => `capability:${purpose}`;
  return {
    issue(purpose: string, grant: Record<string, string>, ttlMs: number): { token: string; expiresAt: Date } {
      const expiresAt = new Date(now() + ttlMs);
      return { token: secrets.seal(Buffer.from(JSON.stringify({ ...grant, exp: expiresAt.getTime() })), context(purpose)), expiresAt };
    },
    /** What the token grants, or null when it is not one of this purpose's, or has expired. */
    read(purpose: string, token: string): Record<string, string> | null {
      try {
        const { exp, ...grant } = JSON.parse(secrets.open(token, context(purpose)).toString()) as Record<string, string> & { exp: number };
        return typeof exp === 'number' && exp > now() ? grant : null;
      } catch {
        return null;
      }
    },
  };
}
