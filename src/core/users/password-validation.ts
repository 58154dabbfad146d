import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * Django's four default password validators, with their exact messages, applied in Django's
 * default order; every failing message is returned, as Django's `validate_password` does.
 */

export interface PasswordOwner {
  username?: string;
  email?: string;
  first_name?: string;
  last_name?: string;
}

const MIN_LENGTH = 8;
const MAX_SIMILARITY = 0.7;

/** Django's verbose names of the user attributes compared. */
const ATTRIBUTES: [keyof PasswordOwner, string][] = [
  ['username', 'username'],
  ['first_name', 'first name'],
  ['last_name', 'last name'],
  ['email', 'email address'],
];

// Django's list of 20,000 common passwords, lowercased (see common-passwords.LICENSE), one a
// line. Kept as that one string, searched for a whole line: 0.2 MiB, where a Set of the
// passwords held 1.6.
const COMMON_PASSWORDS = `\n${gunzipSync(readFileSync(new URL('./common-passwords.txt.gz', import.meta.url))).toString('utf8')}\n`;

function isCommon(password: string): boolean {
  const candidate = password.toLowerCase().trim();
  // A line break would let two lines of the list pass for one.
  return candidate !== '' && !candidate.includes('\n') && COMMON_PASSWORDS.includes(`\n${candidate}\n`);
}

/** Python's `difflib.SequenceMatcher(a, b).quick_ratio()`: an upper bound on similarity from character counts. */
export function quickRatio(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  const total = left.length + right.length;
  if (total === 0) return 1;
  const available = new Map<string, number>();
  for (const c of right) available.set(c, (available.get(c) ?? 0) + 1);
  let matches = 0;
  for (const c of left) {
    const n = available.get(c) ?? 0;
    if (n > 0) {
      matches++;
      available.set(c, n - 1);
    }
  }
  return (2 * matches) / total;
}

/** Django skips comparisons that cannot reach the threshold because the lengths differ too much. */
function exceedsMaximumLengthRatio(password: string, value: string): boolean {
  const passwordLength = [...password].length;
  const valueLength = [...value].length;
  return passwordLength >= 10 * valueLength && valueLength < (MAX_SIMILARITY / 2) * passwordLength;
}

function similarityError(password: string, owner: PasswordOwner): string | null {
  const lowered = password.toLowerCase();
  for (const [attribute, verboseName] of ATTRIBUTES) {
    const value = owner[attribute];
    if (!value) continue;
    const valueLower = value.toLowerCase();
    // Python's re.split(r'\W+', value) + [value]: each word of the value, and the whole of it.
    const parts = [...valueLower.split(/[^\p{L}\p{N}_]+/u), valueLower];
    for (const part of parts) {
      if (exceedsMaximumLengthRatio(lowered, part)) continue;
      if (quickRatio(lowered, part) >= MAX_SIMILARITY) return `The password is too similar to the ${verboseName}.`;
    }
  }
  return null;
}

/** Every message for a password that fails validation; an empty list when it passes. */
export function validatePassword(password: string, owner: PasswordOwner): string[] {
  const errors: string[] = [];
  const similar = similarityError(password, owner);
  if (similar) errors.push(similar);
  if ([...password].length < MIN_LENGTH) errors.push(`This password is too short. It must contain at least ${MIN_LENGTH} characters.`);
  if (isCommon(password)) errors.push('This password is too common.');
  if (/^\p{Nd}+$/u.test(password)) errors.push('This password is entirely numeric.');
  return errors;
}
