import { DomainError } from '../errors.ts';

/** RFC 6749 section 5.2 error codes (plus `access_denied` from section 4.1.2.1). */
export type OauthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied';

/**
 * A refusal of the OAuth protocol itself. The OAuth endpoints render it as
 * `{"error", "error_description"}`; its code is the RFC's, so clients can act on it.
 */
export class OauthError extends DomainError {
  constructor(readonly code: OauthErrorCode, message: string) {
    super(message);
  }
}
