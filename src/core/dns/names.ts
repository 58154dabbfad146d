/**
 * Domain names as Nimbus keeps them: absolute, lower case, without the final dot (`www.example.com`;
 * the root is `''`). Input follows zone-file rules: a name ending in a dot is absolute, any
 * other is relative to the zone, and `@` is the zone itself.
 */

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
// Letters, digits, hyphens and underscores (`_sip._tcp`, `_dmarc`): what zones really hold.
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
// A host name's labels (RFC 1123): no underscores.
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Why `name` (absolute, without the final dot) is not a valid domain name; null when it is. */
function problemWith(name: string, { wildcard = false, host = false } = {}): string | null {
  if (/[^\x21-\x7e]/.test(name)) return 'Use only ASCII letters, digits, hyphens and underscores (write an international name in its xn-- form).';
  if (name.length > MAX_NAME_LENGTH) return `A domain name has at most ${MAX_NAME_LENGTH} characters.`;
  const labels = name.split('.');
  for (const [i, label] of labels.entries()) {
    if (label === '') return 'A domain name has no empty labels (two dots in a row, or a leading dot).';
    if (label.length > MAX_LABEL_LENGTH) return `Each label of a domain name has at most ${MAX_LABEL_LENGTH} characters.`;
    if (label === '*') {
      if (wildcard && i === 0) continue;
      return wildcard ? 'A wildcard `*` is only allowed as the leftmost label.' : 'A wildcard `*` is not allowed here.';
    }
    if (!(host ? HOST_LABEL : LABEL).test(label)) {
      return host
        ? `"${label}" is not a valid host name label: letters, digits and hyphens, not starting or ending with a hyphen.`
        : `"${label}" is not a valid label: letters, digits, hyphens and underscores, not starting or ending with a hyphen.`;
    }
  }
  return null;
}

export class NameError extends Error {}

/** A zone's own name: an absolute domain name of at least two labels, given with or without the final dot. */
export function parseZoneName(input: string): string {
  const name = input.trim().toLowerCase().replace(/\.$/, '');
  if (!name) throw new NameError('Enter a domain name such as "example.com".');
  const problem = problemWith(name);
  if (problem) throw new NameError(problem);
  if (!name.includes('.')) throw new NameError('A zone is a domain below a top-level domain, such as "example.com".');
  return name;
}

/** `name` resolved against `zone` by zone-file rules: `@`, relative, or absolute with the final dot. */
export function absoluteName(input: string, zone: string): string {
  const given = input.trim().toLowerCase();
  if (given === '@' || given === '') return zone;
  if (given === '.') return '';
  if (given.endsWith('.')) return given.slice(0, -1);
  return zone ? `${given}.${zone}` : given;
}

export function isAtOrBelow(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}

/** A record's owner: inside the zone, wildcards allowed. */
export function parseOwnerName(input: string, zone: string): string {
  const name = absoluteName(input, zone);
  const problem = problemWith(name, { wildcard: true });
  if (problem) throw new NameError(problem);
  if (!isAtOrBelow(name, zone)) throw new NameError(`"${input.trim()}" is not inside the zone ${zone}. (A name without a final dot is relative to the zone.)`);
  return name;
}

/**
 * A name a record points at (CNAME, PTR targets: any domain name; MX, NS, SRV targets: host
 * names). `.` (the root) only where `root` allows it (a null MX, an SRV saying "no service").
 */
export function parseTargetName(input: string, zone: string, { host = false, root = false } = {}): string {
  const name = absoluteName(input, zone);
  if (name === '') {
    if (root) return '';
    throw new NameError('Enter a domain name, not the root.');
  }
  const problem = problemWith(name, { host });
  if (problem) throw new NameError(problem);
  return name;
}

/** How a name is shown in a zone file and the API: absolute with its final dot. */
export function fqdn(name: string): string {
  return `${name}.`;
}

/** A name relative to its zone (`www`, `@` for the zone itself), as zone files and the API show owners. */
export function relativeName(name: string, zone: string): string {
  if (name === zone) return '@';
  return name.endsWith(`.${zone}`) ? name.slice(0, -(zone.length + 1)) : fqdn(name);
}

/** The parent of a name (`a.b.c` -> `b.c`); the root's parent is null. */
export function parentOf(name: string): string | null {
  if (name === '') return null;
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}
