import type { Selectable } from 'kysely';

/** An interactive shell opened on a server for a user: who, where, as whom, when. */
export interface WebshSessionsTable {
  id: string;
  organization_id: string;
  organization_path: string;
  server_id: string;
  /** The user who opened it (null once deleted). */
  user_id: string | null;
  /** The server's user the shell runs as, and its group (empty: the user's primary group). */
  username: string;
  groupname: string;
  rows: number;
  cols: number;
  user_agent: string;
  remote_ip: string;
  created_at: string;
  /** When its terminal opened (its WebSocket connected). */
  started_at: string | null;
  closed_at: string | null;
  /** The shell's exit code, when it ended by itself. */
  exit_code: number | null;
}

/** A session shared by link and password: who has both may join it until `expires_at`. */
export interface WebshSharesTable {
  id: string;
  session_id: string;
  /** 0/1: joiners watch without typing. */
  read_only: number;
  /** SHA-256 of the generated password. */
  password_hash: string;
  expires_at: string;
  created_by: string | null;
  created_at: string;
}

/** A WebSocket's right to one session's terminal, opened once with a short-lived token. */
export interface WebshChannelsTable {
  id: string;
  session_id: string;
  share_id: string | null;
  user_id: string | null;
  read_only: number;
  /** SHA-256 of the token its URL carries. */
  token_hash: string;
  token_expires_at: string;
  /** Set when the token is used: it opens one WebSocket, once. */
  connected_at: string | null;
  /** The credential that asked for it, by id and kind: its socket ends once that credential no longer stands. Null before 0880. */
  credential_id: string | null;
  credential_kind: string | null;
  created_at: string;
}

export interface WebshTables {
  websh_sessions: WebshSessionsTable;
  websh_shares: WebshSharesTable;
  websh_channels: WebshChannelsTable;
}

export type WebshSessionRow = Selectable<WebshSessionsTable>;
export type WebshShareRow = Selectable<WebshSharesTable>;
export type WebshChannelRow = Selectable<WebshChannelsTable>;
