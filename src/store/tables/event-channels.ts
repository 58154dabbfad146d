import type { Selectable } from 'kysely';

export interface EventChannelsTable {
  id: string;
  /** The organization the channel was opened in. */
  organization_id: string;
  user_id: string;
  /** The credential that opened it: only the same credential subscribes it. */
  credential_id: string;
  /** That credential's kind (`personal`, `oauth`, ...): its socket resolves it again by id. Null before 0860. */
  credential_kind: string | null;
  /** SHA-256 of the one-time token its WebSocket URL carries. */
  token_hash: string;
  token_expires_at: string;
  /** When its WebSocket connected (once); subscriptions are taken only from then. */
  connected_at: string | null;
  closed_at: string | null;
  created_at: string;
}

export interface EventSubscriptionsTable {
  id: string;
  channel_id: string;
  /** `command_output` (target: a command), `command_fin` (target: a server), `sudo` (target: a web shell session). */
  event_type: string;
  target_id: string;
  /** The subtree the subscriber acted in: what it delivers stays inside. */
  organization_path: string;
  /** command_output: the last chunk stored when it was taken (later ones are sent); -1 otherwise. */
  after_seq: number;
  created_at: string;
}

export interface EventChannelTables {
  event_channels: EventChannelsTable;
  event_subscriptions: EventSubscriptionsTable;
}

export type EventChannelRow = Selectable<EventChannelsTable>;
export type EventSubscriptionRow = Selectable<EventSubscriptionsTable>;
