/** Loopback hosts where a native app may listen on any port (RFC 8252 section 7.3). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);

/**
 * Why a redirect URI cannot be registered, or null when it can: absolute, no fragment, https,
 * or http on a loopback address, or a private-use scheme with a dot (`com.example.app:/cb`).
 */
export function redirectUriProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an absolute URI.`;
  }
  if (url.hash || value.includes('#')) return `"${value}" must not contain a fragment.`;
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? null : `"${value}" must use https (plain http is allowed only on 127.0.0.1 and [::1]).`;
  const scheme = url.protocol.slice(0, -1);
  if (['javascript', 'data', 'file', 'vbscript', 'about', 'blob'].includes(scheme)) return `The "${scheme}" scheme cannot be a redirect URI.`;
  return scheme.includes('.') ? null : `"${value}": a custom scheme must be a reverse domain name (e.g. com.example.app:/callback).`;
}

/**
 * Exact match against the registered URIs; only the port may differ, and only for http on a
 * loopback address (native apps bind an ephemeral port).
 */
export function matchesRegisteredRedirect(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true;
  let url: URL;
  try {
    url = new URL(presented);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return false;
  // Only a URI already in canonical form qualifies, so that no normalisation hides a difference.
  if (url.href !== presented) return false;
  const withoutPort = (u: URL) => `${u.protocol}//${u.hostname}${u.pathname}${u.search}`;
  return registered.some((r) => {
    const candidate = URL.canParse(r) ? new URL(r) : null;
    return candidate !== null && candidate.href === r && candidate.protocol === 'http:' && LOOPBACK_HOSTS.has(candidate.hostname) && withoutPort(candidate) === withoutPort(url);
  });
}
