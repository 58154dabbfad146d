import type { ServerState } from '../../../store/schema.ts';

/**
 * Alpacon's `status` object, derived from Nimbus's own `state`: its clients show `text` in
 * `color` and read `code`. Nimbus reaches a server through its own host rather than an agent
 * that reports round-trip delays, so the delays in `meta` are always 0.
 */
const STATUS_BY_STATE: Record<ServerState, { code: string; text: string; color: string; icon: string }> = {
  running: { code: 'connected', text: 'Connected', color: 'green', icon: 'connected' },
  starting: { code: 'starting', text: 'Starting', color: 'blue', icon: 'loading' },
  stopping: { code: 'stopping', text: 'Stopping', color: 'blue', icon: 'loading' },
  stopped: { code: 'disconnected', text: 'Stopped', color: 'grey', icon: 'disconnected' },
  error: { code: 'error', text: 'Error', color: 'red', icon: 'error' },
};

export function serverStatus(state: ServerState, detail: string) {
  return {
    ...STATUS_BY_STATE[state],
    messages: state === 'error' && detail ? [detail] : [],
    meta: { delay_now: 0, delay_1h: 0, delay_1d: 0, delay_1w: 0 },
  };
}
