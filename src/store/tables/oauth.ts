import type { Generated, Selectable } from 'kysely';

/** A registered OAuth 2 client, owned by an organization. */
export interface OauthApplicationsTable {
  id: string;
  organization_id: string;
  name: string;
  /** Public identifier the client sends; not a secret. */
  client_id: string;
  /** `confidential` clients authenticate with a secret; `public` ones (SPAs, native apps) cannot keep one. */
  client_type: string;
  /** SHA-256 of the client secret, hex; null for public clients. */
  client_secret_hash: string | null;
  /** JSON array of exact redirect URIs. */
  redirect_uris: string;
  /** JSON array of OAuth scopes the application may request. */
  scopes: string;
  created_by: string;
  revision: Generated<number>;
  created_at: string;
  updated_at: string;
}

/** A user's consent to one application: the scopes approved last; revoking it ends every grant under it. */
export interface OauthAuthorizationsTable {
  id: string;
  user_id: string;
  application_id: string;
  scopes: string;
  created_at: string;
  updated_at: string;
}

/**
 * One token family: everything issued from one authorization code (access and refresh tokens
 * through every rotation) or one client_credentials request. Reuse of a rotated refresh token
 * revokes the whole grant.
 */
export interface OauthGrantsTable {
  id: string;
  application_id: string;
  /** Null for client_credentials: the application acts for itself. */
  user_id: string | null;
  authorization_id: string | null;
  grant_type: string;
  scopes: string;
  /** The API credential a password grant was issued from: replacing or revoking it ends the grant. */
  api_credential_id: string | null;
  revoked_at: string | null;
  created_at: string;
}

/** Per-organization OAuth switches. No row means every switch is off. */
export interface OauthOrganizationSettingsTable {
  organization_id: string;
  /** 1 when the organization's API credentials may be exchanged for tokens (the password grant). */
  password_grant: number;
  /** 1 when the organization's confidential clients may skip PKCE (RFC 9700 recommends it for every client). */
  pkce_optional_for_confidential: number;
  updated_at: string;
}

/** Authorization codes: single-use, short-lived, stored hashed. */
export interface OauthCodesTable {
  id: string;
  code_hash: string;
  application_id: string;
  user_id: string;
  authorization_id: string;
  redirect_uri: string;
  scopes: string;
  /** PKCE S256 challenge (base64url SHA-256 of the verifier); null when the client sent none. */
  code_challenge: string | null;
  expires_at: string;
  /** Set when the code is exchanged; a second exchange finds it set. */
  used_at: string | null;
  /** The grant the exchange created, revoked if the code is presented again. */
  grant_id: string | null;
  created_at: string;
}

/** Access and refresh tokens, stored hashed. */
export interface OauthTokensTable {
  id: string;
  grant_id: string;
  /** `access` or `refresh`. */
  kind: string;
  token_hash: string;
  scopes: string;
  expires_at: string;
  /** For a refresh token: when it was exchanged for a new pair (rotation). */
  rotated_at: string | null;
  revoked_at: string | null;
  created_at: string;
}

/** Server-wide secrets shared by every replica (the CSRF signing key), created on first use. */
export interface OauthServerKeysTable {
  name: string;
  value: string;
  created_at: string;
}

export interface OauthTables {
  oauth_applications: OauthApplicationsTable;
  oauth_authorizations: OauthAuthorizationsTable;
  oauth_grants: OauthGrantsTable;
  oauth_codes: OauthCodesTable;
  oauth_tokens: OauthTokensTable;
  oauth_server_keys: OauthServerKeysTable;
  oauth_organization_settings: OauthOrganizationSettingsTable;
}

export type OauthApplicationRow = Selectable<OauthApplicationsTable>;
export type OauthAuthorizationRow = Selectable<OauthAuthorizationsTable>;
export type OauthGrantRow = Selectable<OauthGrantsTable>;
export type OauthCodeRow = Selectable<OauthCodesTable>;
export type OauthTokenRow = Selectable<OauthTokensTable>;
