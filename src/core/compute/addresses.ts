import { ValidationFailed } from '../errors.ts';

/**
 * IPv4 arithmetic for private networks: each organization gets a /24 carved from the
 * configured range, each server an address in its organization's /24. Pure: the services pick
 * with these and let the database's unique constraints settle races.
 */

export interface AddressRange {
  /** The range's first address, as a 32-bit number. */
  base: number;
  prefix: number;
}

const SUBNET_PREFIX = 24;
const SUBNET_SIZE = 2 ** (32 - SUBNET_PREFIX);

export function ipToNumber(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** `10.77.0.0/16` -> its range; an error message names `setting` when the text is not a usable range. */
export function parseRange(cidr: string, setting = 'NIMBUS_NETWORK_RANGE'): AddressRange {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  const address = match ? ipToNumber(match[1]!) : null;
  const prefix = match ? Number(match[2]) : NaN;
  if (address === null || !(prefix >= 8 && prefix <= SUBNET_PREFIX)) {
    throw ValidationFailed.field(setting, `"${cidr}" is not an IPv4 range between /8 and /24, such as 10.77.0.0/16.`);
  }
  const blockSize = 2 ** (32 - prefix);
  if (address % blockSize !== 0) throw ValidationFailed.field(setting, `"${cidr}" is not aligned: its host bits must be zero.`);
  return { base: address, prefix };
}

/** How many /24 networks the range holds. */
export function subnetCount(range: AddressRange): number {
  return 2 ** (SUBNET_PREFIX - range.prefix);
}

/** The `index`-th /24 of the range, with its gateway (the bridge's address, `.1`). */
export function subnetAt(range: AddressRange, index: number): { subnet: string; gateway: string } {
  if (!Number.isInteger(index) || index < 0 || index >= subnetCount(range)) throw new RangeError(`subnet index ${index} is outside the range`);
  const start = range.base + index * SUBNET_SIZE;
  return { subnet: `${numberToIp(start)}/${SUBNET_PREFIX}`, gateway: numberToIp(start + 1) };
}

/** The first /24 of the range that `taken` does not hold, or null when the range is full. */
export function firstFreeSubnet(range: AddressRange, taken: ReadonlySet<string>): { subnet: string; gateway: string } | null {
  for (let index = 0; index < subnetCount(range); index++) {
    const candidate = subnetAt(range, index);
    if (!taken.has(candidate.subnet)) return candidate;
  }
  return null;
}

/** The first server address of a /24 (`.2` to `.254`: `.1` is the gateway, `.255` broadcast) not in `taken`. */
export function firstFreeAddress(subnet: string, taken: ReadonlySet<string>): string | null {
  const start = ipToNumber(subnet.split('/')[0]!);
  if (start === null) throw new RangeError(`"${subnet}" is not a subnet`);
  for (let host = 2; host < SUBNET_SIZE - 1; host++) {
    const candidate = numberToIp(start + host);
    if (!taken.has(candidate)) return candidate;
  }
  return null;
}
