import { posix } from 'node:path';
import type { FieldErrors } from '../errors.ts';

/**
 * The rules of token ACLs, as Alpacon's CLI documents them: three independent kinds, each
 * deny-by-default (a token with no rule of a kind may do nothing of that kind).
 */
export const ACL_KINDS = ['command', 'server', 'file'] as const;
export type AclKind = (typeof ACL_KINDS)[number];

export const FILE_ACTIONS = ['upload', 'download', '*'] as const;
export type FileAction = 'upload' | 'download';

/** Which ACL kinds guard what a scope's resource does (`GET /api/auth/tokens/scopes/` lists them). */
const ACL_KINDS_BY_RESOURCE: Readonly<Record<string, readonly AclKind[]>> = {
  server: ['server'],
  command: ['command', 'server'],
  websh: ['command', 'server'],
  webftp: ['file', 'server'],
};

export function aclKindsOf(resource: string): AclKind[] {
  return [...(ACL_KINDS_BY_RESOURCE[resource] ?? [])];
}

/** A rule's account fields: '' (the token owner's own name, or any group), '*' (any), or one name. */
export interface AccountRule {
  username: string;
  groupname: string;
}

/** Whom a use runs as on the server. */
export interface Account {
  username: string;
  groupname: string;
}

export function accountAllowed(rule: AccountRule, account: Account, ownerName: string): boolean {
  const userOk = rule.username === '*' || account.username === (rule.username === '' ? ownerName : rule.username);
  const groupOk = rule.groupname === '' || rule.groupname === '*' || account.groupname === rule.groupname;
  return userOk && groupOk;
}

/** Any run of characters but those that join, redirect or substitute shell commands. */
const NO_SHELL_CONTROL = '[^;&|<>`$()\\n\\r]*';

function wildcardPattern(pattern: string, wildcard: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join(wildcard)}$`, 's');
}

/**
 * Whether a command rule allows a shell line. `*` alone allows any line (a whole shell: what a
 * web shell needs); otherwise `*` stands for any arguments but never for shell control
 * characters, so `echo *` does not let `echo hi; rm -rf /` through.
 */
export function commandAllowed(pattern: string, line: string): boolean {
  if (pattern === '*') return true;
  return wildcardPattern(pattern, NO_SHELL_CONTROL).test(line.trim());
}

/** A path as a rule sees it: normalized, so `..` cannot walk out of a granted directory. */
export function normalizedPath(path: string): string {
  return posix.normalize(path);
}

/** Whether a file rule allows `action` on `path`: `*` stands for any characters, `/` included. */
export function fileAllowed(rule: { path: string; action: string }, path: string, action: FileAction): boolean {
  if (rule.action !== '*' && rule.action !== action) return false;
  return wildcardPattern(rule.path, '.*').test(normalizedPath(path));
}

const ACCOUNT_RULE = /^(?:\*|[a-z_][a-z0-9_.-]{0,31}\$?|\d{1,10})$/i;
const PATTERN_MAX = 1024;
const PATH_MAX = 4096;

/** A rule's fields as a client sent them, checked; every problem at once. */
export function checkRuleFields(kind: AclKind, input: { command?: string; path?: string; action?: string; username?: string; groupname?: string }): FieldErrors {
  const errors: FieldErrors = {};
  if (kind === 'command') {
    const command = input.command?.trim() ?? '';
    if (!command) errors.command = ['This field may not be blank.'];
    else if (command.length > PATTERN_MAX || /[\0\n\r]/.test(command)) errors.command = [`Ensure this field is one line of at most ${PATTERN_MAX} characters.`];
  }
  if (kind === 'file') {
    const path = input.path ?? '';
    if (!path) errors.path = ['This field may not be blank.'];
    else if (path.length > PATH_MAX || path.includes('\0')) errors.path = [`Ensure this field has at most ${PATH_MAX} characters and no NUL byte.`];
    else if (path !== '*' && !path.startsWith('/')) errors.path = ['An absolute path pattern (or * for any path).'];
    if (!(FILE_ACTIONS as readonly string[]).includes(input.action ?? '')) errors.action = [`"${input.action ?? ''}" is not a valid choice. Choose from: ${FILE_ACTIONS.join(', ')}.`];
  }
  if (kind !== 'server') {
    for (const field of ['username', 'groupname'] as const) {
      const value = input[field] ?? '';
      if (value !== '' && !ACCOUNT_RULE.test(value)) errors[field] = [`"${value.slice(0, 40)}" is not a valid ${field === 'username' ? 'user' : 'group'} name, "*" or empty.`];
    }
  }
  return errors;
}
