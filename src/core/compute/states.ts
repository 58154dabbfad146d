import type { ServerState, VolumeState } from '../../store/schema.ts';
import { InvalidState } from '../errors.ts';

/**
 * Which action a server or volume accepts in which state, and the state an accepted action
 * moves it to at once (before its task runs), so that a second action is refused right away.
 * Pure: services ask, tests check it alone.
 */

export const SERVER_ACTIONS = ['poweron', 'poweroff', 'reboot', 'terminate', 'update_information'] as const;
export type ServerAction = (typeof SERVER_ACTIONS)[number];

/** Alpacon's names for the same actions (its CLI sends these). */
export const ACTION_ALIASES: Record<string, ServerAction> = { reboot_system: 'reboot', shutdown_system: 'poweroff' };

interface Rule<State> {
  from: readonly State[];
  /** The state shown while the task runs; null leaves it as it is. */
  during: State | null;
}

const SERVER_RULES: Record<ServerAction, Rule<ServerState>> = {
  // From `error` too: powering on again is how a failed start is retried.
  poweron: { from: ['stopped', 'error'], during: 'starting' },
  // From `error` too: it releases whatever a half-failed start left behind.
  poweroff: { from: ['running', 'error'], during: 'stopping' },
  reboot: { from: ['running'], during: 'stopping' },
  terminate: { from: ['stopped', 'running', 'error'], during: 'stopping' },
  update_information: { from: ['running'], during: null },
};

/** A server is deleted (DELETE) only once stopped; `terminate` stops it first. */
const SERVER_DELETABLE: readonly ServerState[] = ['stopped'];
/** Volumes are attached to and detached from stopped servers only. */
const SERVER_ATTACHABLE: readonly ServerState[] = ['stopped'];
/** A server's size changes while it is stopped; the next start applies it. */
const SERVER_RESIZABLE: readonly ServerState[] = ['stopped'];

/** The canonical action for a name a client sent (an alias included), or null when unknown. */
export function resolveServerAction(name: string): ServerAction | null {
  if ((SERVER_ACTIONS as readonly string[]).includes(name)) return name as ServerAction;
  return Object.hasOwn(ACTION_ALIASES, name) ? ACTION_ALIASES[name]! : null;
}

/** The actions a server in `state` accepts now. */
export function allowedServerActions(state: ServerState): ServerAction[] {
  return SERVER_ACTIONS.filter((action) => SERVER_RULES[action].from.includes(state));
}

/** The state to show while `action` runs; throws `InvalidState` when `state` does not allow it. */
export function startServerAction(state: ServerState, action: ServerAction): ServerState {
  const rule = SERVER_RULES[action];
  if (!rule.from.includes(state)) throw new InvalidState(state, [...rule.from], `The server is ${state}; ${action} needs it to be ${rule.from.join(' or ')}.`, 'server');
  return rule.during ?? state;
}

export function assertServerDeletable(state: ServerState): void {
  if (!SERVER_DELETABLE.includes(state)) {
    throw new InvalidState(state, [...SERVER_DELETABLE], `The server is ${state}; only a stopped server is deleted (or use the terminate action).`, 'server');
  }
}

export function assertServerAcceptsVolumeChanges(state: ServerState): void {
  if (!SERVER_ATTACHABLE.includes(state)) {
    throw new InvalidState(state, [...SERVER_ATTACHABLE], `The server is ${state}; volumes are attached and detached while it is stopped.`, 'server');
  }
}

export function assertServerResizable(state: ServerState): void {
  if (!SERVER_RESIZABLE.includes(state)) {
    throw new InvalidState(state, [...SERVER_RESIZABLE], `The server is ${state}; its size changes while it is stopped.`, 'server');
  }
}

export type VolumeOperation = 'attach' | 'detach' | 'resize' | 'delete' | 'snapshot';

const VOLUME_RULES: Record<VolumeOperation, Rule<VolumeState>> = {
  attach: { from: ['available'], during: 'in_use' },
  detach: { from: ['in_use'], during: 'in_use' },
  resize: { from: ['available', 'in_use'], during: 'resizing' },
  // A volume that failed to be made is deleted too (what the host has of it goes with it).
  delete: { from: ['available', 'error'], during: 'deleting' },
  snapshot: { from: ['available', 'in_use'], during: null },
};

/** The state to show while `operation` runs; throws `InvalidState` when `state` does not allow it. */
export function startVolumeOperation(state: VolumeState, operation: VolumeOperation): VolumeState {
  const rule = VOLUME_RULES[operation];
  if (!rule.from.includes(state)) throw new InvalidState(state, [...rule.from], `The volume is ${state}; ${operation} needs it to be ${rule.from.join(' or ')}.`, 'volume');
  return rule.during ?? state;
}
