import type { FieldErrors } from '../errors.ts';

/** The rules of app fields, each adding DRF-style messages to `errors`. */

/** 6 to 48 characters (Scalingo's rule): the name is a host name label under the apps domain. */
const NAME = /^[a-z0-9-]+$/;
export const NAME_LENGTH = { min: 6, max: 48 } as const;

/** Stacks a build can run on: `nodejs` detects package.json and builds it; `procfile` runs the Procfile as it is. */
export const STACKS = ['nodejs', 'procfile'] as const;
export type Stack = (typeof STACKS)[number];
export const DEFAULT_STACK: Stack = 'nodejs';

export function checkAppName(errors: FieldErrors, field: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') {
    errors[field] = ['This field is required.'];
    return;
  }
  const messages: string[] = [];
  if (value.length < NAME_LENGTH.min || value.length > NAME_LENGTH.max) messages.push(`should have between ${NAME_LENGTH.min} and ${NAME_LENGTH.max} characters`);
  if (!NAME.test(value)) messages.push('should contain only lowercap letters, digits and hyphens');
  else if (value.startsWith('-') || value.endsWith('-')) messages.push('should not start or end with a hyphen');
  if (messages.length) errors[field] = messages;
}

export function checkStack(errors: FieldErrors, value: unknown): void {
  if (value !== undefined && !(STACKS as readonly unknown[]).includes(value)) errors.stack = [`"${String(value)}" is not a valid choice. Choose from: ${STACKS.join(', ')}.`];
}
