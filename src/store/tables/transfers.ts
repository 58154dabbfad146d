import type { Selectable } from 'kysely';

/** A file moved into (`upload`) or out of (`download`) a server, as one of its users, through a one-time URL. */
export interface FileTransfersTable {
  id: string;
  organization_id: string;
  organization_path: string;
  server_id: string;
  user_id: string | null;
  direction: 'upload' | 'download';
  /** The file's name (an upload's name in the directory `path`). */
  name: string;
  /** Where in the server: an upload's target file or directory, a download's file. */
  path: string;
  username: string;
  groupname: string;
  /** 0/1: an upload may replace an existing file. */
  overwrite: number;
  /** SHA-256 of the token the content URL carries. */
  token_hash: string;
  token_expires_at: string;
  /** Set when the content URL is used: once. */
  used_at: string | null;
  /** A download's check, run as the user before the content is fetched (Alpacon's CLI waits for it). */
  command_id: string | null;
  bytes: number | null;
  /** 0/1 once finished; null before. */
  success: number | null;
  message: string;
  created_at: string;
  finished_at: string | null;
  /** `file`; `folder` (a download of a directory, as a zip); `bulk` (several paths downloaded as one zip). */
  kind: 'file' | 'folder' | 'bulk';
  /** A bulk download's paths, as a JSON array; null otherwise. */
  paths: string | null;
  /** The address the transfer was asked from. */
  remote_ip: string;
}

export interface TransferTables {
  file_transfers: FileTransfersTable;
}

export type FileTransferRow = Selectable<FileTransfersTable>;
