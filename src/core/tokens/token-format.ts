import { randomInt, randomUUID } from 'node:crypto';
import { digest } from '../digest.ts';
import { crc32 } from 'node:zlib';

/**
 * Token wire format, GitHub-style: `<kind prefix>_<30 random base62><6 base62 CRC32>`.
 * The prefix makes a leaked token recognisable by a regex; the checksum rejects typos and
 * garbage without touching the database.
 */
export const TOKEN_KINDS = {
  personal: 'nbpat',
  session: 'nbses',
  oauth_access: 'nboat',
  oauth_refresh: 'nbort',
  oauth_client_secret: 'nbocs',
  oauth_code: 'nbocd',
  // A user's one API key (CloudMC's MC-Api-Key): regenerating it revokes the previous one.
  api_key: 'nbkey',
  // The password half of an API credential (HTTP Basic); its user name is random too.
  credential: 'nbcrd',
  // A server registration token's key: enrols machines (no API credential: it opens no route).
  registration: 'nbreg',
} as const;

export type TokenKind = keyof typeof TOKEN_KINDS;

/**
 * Prefixes a personal token may wear instead of `nbpat_`, for platforms whose clients know
 * their own tokens by sight: Scalingo's `tk-us-`. Same kind, randomness and checksum.
 */
export const PERSONAL_TOKEN_PREFIXES = { scalingo: 'tk-us-' } as const;
export type PersonalTokenPrefix = (typeof PERSONAL_TOKEN_PREFIXES)[keyof typeof PERSONAL_TOKEN_PREFIXES];

/**
 * Account tokens are what legacy password-based clients hold (Scaleway's account API): the
 * secret is a random UUID, as those clients expect, with no prefix or checksum of ours.
 */
export type StoredTokenKind = TokenKind | 'account';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

export function generateAccountToken(): string {
  return randomUUID();
}

/** Whether a presented value has the shape of an account token (a version 4 UUID). */
export function looksLikeAccountToken(value: string): boolean {
  return UUID.test(value);
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;
/** How a token of `kind` begins: its kind's prefix and `_`. */
export function tokenPrefix(kind: TokenKind): string {
  return `${TOKEN_KINDS[kind]}_`;
}

const PREFIX_TO_KIND = new Map<string, TokenKind>([
  ...(Object.keys(TOKEN_KINDS) as TokenKind[]).map((kind): [string, TokenKind] => [tokenPrefix(kind), kind]),
  ...Object.values(PERSONAL_TOKEN_PREFIXES).map((prefix): [string, TokenKind] => [prefix, 'personal']),
]);
const TOKEN_PATTERN = new RegExp(`^([a-z]+_|[a-z]+-[a-z]+-)([0-9A-Za-z]{${RANDOM_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);

function base62(value: number, width: number): string {
  let out = '';
  for (let v = value; out.length < width; v = Math.floor(v / 62)) out = ALPHABET[v % 62] + out;
  return out;
}

function checksum(body: string): string {
  return base62(crc32(body), CHECKSUM_LENGTH);
}

export function generateToken(kind: TokenKind): string {
  return withChecksum(tokenPrefix(kind));
}

/** A personal token wearing a platform's prefix (`PERSONAL_TOKEN_PREFIXES`). */
export function generatePersonalToken(prefix: PersonalTokenPrefix): string {
  return withChecksum(prefix);
}

function withChecksum(prefix: string): string {
  let random = '';
  for (let i = 0; i < RANDOM_LENGTH; i++) random += ALPHABET[randomInt(62)];
  const body = `${prefix}${random}`;
  return body + checksum(body);
}

/** The token's kind when it is well-formed with a valid checksum, otherwise null. */
export function parseToken(token: string): TokenKind | null {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  const kind = PREFIX_TO_KIND.get(match[1]!);
  if (!kind) return null;
  // A plain comparison: the checksum is no secret (anyone can compute it from the token's body).
  return checksum(`${match[1]}${match[2]}`) === match[3] ? kind : null;
}

export function looksLikeToken(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

export function hashToken(token: string): string {
  return digest('sha256', token, 'hex');
}

/** What may be shown of a token after creation: its prefix and first characters (an account token's first four), and its last four. */
export function tokenDisplayParts(token: string): { displayPrefix: string; lastFour: string } {
  const prefix = TOKEN_PATTERN.exec(token)?.[1] ?? '';
  return { displayPrefix: token.slice(0, prefix.length + 4), lastFour: token.slice(-4) };
}

/** The platform prefix a personal token was made with (from its display prefix), or null for `nbpat_`. */
export function personalPrefixOf(displayPrefix: string): PersonalTokenPrefix | null {
  return Object.values(PERSONAL_TOKEN_PREFIXES).find((prefix) => displayPrefix.startsWith(prefix)) ?? null;
}

/** How often a sliding expiry is written: at most once a minute per token, so reads do not become writes. */
export const SLIDING_RENEWAL_INTERVAL_MS = 60_000;

/**
 * A sliding expiry after a use at `now`: `idleSeconds` ahead, or null when the stored expiry is
 * still within a renewal interval of that (no write needed yet).
 */
export function renewedExpiry(expiresAt: number, idleSeconds: number, now: number): number | null {
  const renewed = now + idleSeconds * 1000;
  return renewed - expiresAt >= SLIDING_RENEWAL_INTERVAL_MS ? renewed : null;
}
