import type { SecretBox } from '../secrets/secret-box.ts';

/**
 * Secrets a task hands back to its caller (a new password) are kept in its result sealed with
 * the secret box, bound to the task and the field: whoever may read the task sees them in the
 * clear, a copy of the database does not. They go when the task is purged.
 */
const SEALED = 'sealed_secrets';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const contextOf = (taskId: string, field: string) => `task:${taskId}:${field}`;

/** `result` with `secrets` sealed beside it, for the task `taskId`. */
export function withSealedSecrets(box: SecretBox, taskId: string, result: Record<string, unknown>, secrets: Record<string, string>): Record<string, unknown> {
  const sealed = Object.fromEntries(Object.entries(secrets).map(([field, value]) => [field, box.seal(Buffer.from(value), contextOf(taskId, field))]));
  return { ...result, [SEALED]: sealed };
}

/** The result as readers of the task see it: its sealed secrets opened in place. */
export function revealSecrets(box: SecretBox, taskId: string, result: unknown): unknown {
  if (!isRecord(result) || !isRecord(result[SEALED])) return result;
  const { [SEALED]: sealed, ...rest } = result;
  const opened = Object.entries(sealed).map(([field, value]) => [field, box.open(String(value), contextOf(taskId, field)).toString()]);
  return { ...rest, ...Object.fromEntries(opened) };
}
