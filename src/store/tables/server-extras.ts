import type { Selectable } from 'kysely';

/** A key that enrols machines as servers of its organization (Alpacon's registration tokens); only its hash is kept. */
export interface ServerRegistrationTokensTable {
  id: string;
  organization_id: string;
  organization_path: string;
  /** Unique in its organization: Alpacon's CLI finds a token by name. */
  name: string;
  /** JSON array of the ids of groups a server it enrols may be given to. */
  allowed_groups: string;
  /** SHA-256 of the key, hex. */
  key_hash: string;
  expires_at: string | null;
  created_by: string | null;
  last_used_at: string | null;
  created_at: string;
}

/** A note on a server; a private one shows to its author only. */
export interface ServerNotesTable {
  id: string;
  organization_id: string;
  organization_path: string;
  server_id: string;
  author_id: string | null;
  content: string;
  /** 0/1 */
  private: number;
  /** 0/1 */
  pinned: number;
  created_at: string;
  updated_at: string;
}

export interface ServerExtraTables {
  server_registration_tokens: ServerRegistrationTokensTable;
  server_notes: ServerNotesTable;
}

export type ServerRegistrationTokenRow = Selectable<ServerRegistrationTokensTable>;
export type ServerNoteRow = Selectable<ServerNotesTable>;
