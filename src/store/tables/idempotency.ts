import type { Selectable } from 'kysely';

/** The first response to a mutating request sent with an `Idempotency-Key`, per credential. */
export interface IdempotencyKeysTable {
  credential_id: string;
  key: string;
  /** SHA-256 of method, URL and body: the same key with another request is refused. */
  fingerprint: string;
  state: 'in_flight' | 'done';
  response_status: number | null;
  /** JSON map of the response headers worth replaying (content-type, location, etag). */
  response_headers: string | null;
  response_body: string | null;
  created_at: string;
  expires_at: string;
  /** An in-flight key whose request died with its process is taken over after this time. */
  locked_until: string;
}

export interface IdempotencyTables {
  idempotency_keys: IdempotencyKeysTable;
}

export type IdempotencyKeyRow = Selectable<IdempotencyKeysTable>;
