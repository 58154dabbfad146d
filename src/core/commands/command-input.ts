import { isUuid } from '../clock.ts';
import type { FieldErrors } from '../errors.ts';

/** `system`: the server's own `/bin/sh -c`. The only shell until another one exists. */
export const SHELLS = ['system'] as const;
export type Shell = (typeof SHELLS)[number];

/** Far above any real command line, well below what one exec argument may be (128 KiB). */
export const LINE_MAX = 32 * 1024;
const ENV_MAX_ENTRIES = 100;
const ENV_VALUE_MAX = 4 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** A user or group name as `useradd` takes it, or a numeric id. */
const ACCOUNT_NAME = /^(?:[a-z_][a-z0-9_.-]{0,31}\$?|\d{1,10})$/i;
const RUN_AFTER_MAX = 20;

/** A command as a client asks for it: anything JSON, checked here. */
export interface CommandRequest {
  shell?: unknown;
  line?: unknown;
  env?: unknown;
  username?: unknown;
  groupname?: unknown;
  server?: unknown;
  run_after?: unknown;
  timeout?: unknown;
}

/** How long commands may run: `defaultSeconds` when a request names no timeout, never more than `maxSeconds`. */
export interface CommandTimeouts {
  defaultSeconds: number;
  maxSeconds: number;
}

export interface CommandSpec {
  shell: Shell;
  line: string;
  env: Record<string, string>;
  username: string;
  /** Empty: the user's own primary group. */
  groupname: string;
  serverId: string;
  runAfter: string[];
  timeoutSeconds: number;
}

/** Checks a request and fills the defaults; every field's problems at once. */
export function parseCommandRequest(request: CommandRequest, timeouts: CommandTimeouts): { spec: CommandSpec } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const fail = (field: string, message: string) => (errors[field] = [...(errors[field] ?? []), message]);

  const shell = request.shell ?? 'system';
  if (typeof shell !== 'string' || !(SHELLS as readonly string[]).includes(shell)) fail('shell', `"${String(shell)}" is not a valid choice. Choose from: ${SHELLS.join(', ')}.`);

  const line = request.line;
  if (line === undefined || line === null) fail('line', 'This field is required.');
  else if (typeof line !== 'string') fail('line', 'Not a valid string.');
  else if (line.trim() === '') fail('line', 'This field may not be blank.');
  else if (line.length > LINE_MAX) fail('line', `Ensure this field has no more than ${LINE_MAX} characters.`);

  const env = request.env ?? {};
  if (typeof env !== 'object' || env === null || Array.isArray(env)) fail('env', 'Expected a dictionary of strings.');
  else {
    const entries = Object.entries(env);
    if (entries.length > ENV_MAX_ENTRIES) fail('env', `Ensure there are no more than ${ENV_MAX_ENTRIES} variables.`);
    for (const [name, value] of entries) {
      if (!ENV_NAME.test(name)) fail('env', `"${name.slice(0, 130)}" is not a valid variable name (letters, digits and _, not starting with a digit).`);
      else if (typeof value !== 'string') fail('env', `The value of ${name} must be a string.`);
      else if (value.length > ENV_VALUE_MAX) fail('env', `The value of ${name} is longer than ${ENV_VALUE_MAX} characters.`);
    }
  }

  const account = (field: 'username' | 'groupname', fallback: string): string => {
    const value = request[field] ?? fallback;
    if (typeof value !== 'string') fail(field, 'Not a valid string.');
    else if (value !== '' && !ACCOUNT_NAME.test(value)) fail(field, `"${value.slice(0, 40)}" is not a valid ${field === 'username' ? 'user' : 'group'} name or id.`);
    return typeof value === 'string' ? value : fallback;
  };
  const username = account('username', 'root') || 'root';
  const groupname = account('groupname', '');

  const server = request.server;
  if (server === undefined || server === null) fail('server', 'This field is required.');
  else if (typeof server !== 'string' || !isUuid(server)) fail('server', `"${String(server)}" is not a valid UUID.`);

  const runAfter = request.run_after ?? [];
  if (!Array.isArray(runAfter)) fail('run_after', 'Expected a list of command ids.');
  else if (runAfter.length > RUN_AFTER_MAX) fail('run_after', `Ensure this list has no more than ${RUN_AFTER_MAX} commands.`);
  else for (const id of runAfter) if (typeof id !== 'string' || !isUuid(id)) fail('run_after', `"${String(id)}" is not a valid UUID.`);

  const timeout = request.timeout ?? Math.min(timeouts.defaultSeconds, timeouts.maxSeconds);
  if (typeof timeout !== 'number' || !Number.isInteger(timeout)) fail('timeout', 'A valid integer is required.');
  else if (timeout < 1) fail('timeout', 'Ensure this value is greater than or equal to 1.');
  else if (timeout > timeouts.maxSeconds) fail('timeout', `Ensure this value is less than or equal to ${timeouts.maxSeconds}.`);

  if (Object.keys(errors).length) return { errors };
  return {
    spec: {
      shell: shell as Shell,
      line: line as string,
      env: env as Record<string, string>,
      username,
      groupname,
      serverId: (server as string).toLowerCase(),
      runAfter: [...new Set((runAfter as string[]).map((id) => id.toLowerCase()))],
      timeoutSeconds: timeout as number,
    },
  };
}
