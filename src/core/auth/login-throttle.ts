import { isIPv6 } from 'node:net';
import { RateLimited } from '../errors.ts';
import type { RateLimiter } from '../ratelimit/rate-limiter.ts';

export interface LoginThrottleSettings {
  /** Attempts allowed per account from one client address, and per client address, in one window. */
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  throttleWindowSeconds: number;
}

export interface LoginAttempt {
  /** The password was right: the attempt no longer counts against the account or the address. */
  succeeded(): Promise<void>;
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;

/**
 * Password guessing limits (OWASP), shared by every place that checks a login password.
 *
 * An attempt is counted before the password is verified, in one atomic increment per key, so
 * parallel guesses cannot all pass a check made before any of them is counted; a successful
 * attempt is taken back afterwards. Accounts are counted per client address (the account and
 * address together), and addresses on their own: a guesser is stopped at the account's limit
 * from its address, and at the address limit across accounts, while the account's owner still
 * logs in from its own address. IPv6 clients count per /64, the block one host usually holds.
 * Counts live in the database, so every replica enforces the same limits.
 */
export function createLoginThrottle({ limiter, settings }: { limiter: RateLimiter; settings: LoginThrottleSettings }) {
  const window = () => settings.throttleWindowSeconds;

  /** Counts an attempt, or throws `RateLimited` (with the wait) when the account or address is over its limit. */
  async function begin(username: string, clientAddress: string): Promise<LoginAttempt> {
    const address = addressBlock(clientAddress);
    const accountKey = `login:account:${username.toLowerCase()}:${address}`;
    const addressKey = `login:address:${address}`;
    const at = Date.now();
    const decisions = await Promise.all([limiter.hitNow(accountKey, settings.maxFailuresPerAccount, window(), at), limiter.hitNow(addressKey, settings.maxFailuresPerAddress, window(), at)]);
    const blocked = decisions.filter((d) => !d.allowed);
    if (blocked.length) throw new RateLimited(Math.max(...blocked.map((d) => d.resetSeconds)));
    return {
      async succeeded() {
        await Promise.all([limiter.clearNow(accountKey), limiter.unhitNow(addressKey, window(), at)]);
      },
    };
  }

  return { begin };
}

/** The address a client is counted under: itself, or its /64 for IPv6 (IPv4-mapped addresses as IPv4). */
export function addressBlock(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
