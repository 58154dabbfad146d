import type { Selectable } from 'kysely';

export interface EventsTable {
  /** Row key, time-ordered within a process; written with the change the event records. */
  key: string;
  /**
   * Position in the stream, in commit order: null until the sequencer numbers the row after its
   * transaction committed (see core/events/sequencer.ts). Clients see this as the event id.
   */
  id: number | null;
  type: string;
  organization_id: string;
  organization_path: string;
  /** The user whose request caused the change; null for the system. */
  actor: string | null;
  resource_type: string | null;
  resource_id: string | null;
  /** JSON. */
  data: string;
  request_id: string | null;
  created_at: string;
}

export interface EventTables {
  events: EventsTable;
}

export type EventRow = Selectable<EventsTable>;
