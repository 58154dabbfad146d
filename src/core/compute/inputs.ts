import type { FieldErrors } from '../errors.ts';

/** Checks of compute request fields, each adding DRF-style messages to `errors`. */

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

export const PLAN_LIMITS = {
  vcpus: { min: 1, max: 16, default: 1 },
  memory: { min: 16 * MIB, max: 256 * GIB, default: 256 * MIB },
  rootVolume: { min: 64 * MIB, max: 4096 * GIB, default: GIB },
  volume: { min: 16 * MIB, max: 4096 * GIB },
} as const;

export const NAME_MAX = 100;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const TAG_MAX = 50;
const TAGS_MAX = 20;

export function checkName(errors: FieldErrors, field: string, value: unknown, { required }: { required: boolean }): void {
  if (value === undefined) {
    if (required) errors[field] = ['This field is required.'];
    return;
  }
  if (typeof value !== 'string' || value.trim() === '') errors[field] = ['This field may not be blank.'];
  else if (value.length > NAME_MAX) errors[field] = [`Ensure this field has no more than ${NAME_MAX} characters.`];
}

export function checkHostname(errors: FieldErrors, value: string | undefined): void {
  if (value !== undefined && !HOSTNAME.test(value)) errors.hostname = ['Enter a host name of letters, digits and hyphens (at most 63), not starting or ending with a hyphen.'];
}

/** A host name made from a server's name: what the user would have typed. */
export function hostnameFrom(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return cleaned || 'server';
}

export function checkInteger(errors: FieldErrors, field: string, value: number | undefined, limits: { min: number; max: number }, unit = ''): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value)) errors[field] = ['A valid integer is required.'];
  else if (value < limits.min) errors[field] = [`Ensure this value is greater than or equal to ${limits.min}${unit}.`];
  else if (value > limits.max) errors[field] = [`Ensure this value is less than or equal to ${limits.max}${unit}.`];
}

export function checkTags(errors: FieldErrors, value: string[] | undefined): void {
  if (value === undefined) return;
  if (value.length > TAGS_MAX) errors.tags = [`Ensure this field has no more than ${TAGS_MAX} elements.`];
  else if (value.some((t) => typeof t !== 'string' || t.trim() === '' || t.length > TAG_MAX)) errors.tags = [`Each tag is a non-blank text of at most ${TAG_MAX} characters.`];
}

/** An absolute path inside a server, where a volume is mounted; never `/` itself or a path with `..`. */
export function checkMountPath(errors: FieldErrors, value: string | undefined): void {
  if (value === undefined) {
    errors.mount_path = ['This field is required.'];
    return;
  }
  const segments = value.split('/').slice(1);
  if (!value.startsWith('/') || value.length > 200 || value === '/' || segments.some((s) => s === '' || s === '.' || s === '..' || /[\0\s]/.test(s))) {
    errors.mount_path = ['Enter an absolute path such as /data, without "..", spaces or a trailing slash.'];
  } else if (['/proc', '/sys', '/dev', '/etc', '/bin', '/sbin', '/lib', '/usr'].some((p) => value === p || value.startsWith(`${p}/`))) {
    errors.mount_path = ['This path belongs to the system; choose another, such as /data.'];
  }
}

export const hasErrors = (errors: FieldErrors) => Object.keys(errors).length > 0;
