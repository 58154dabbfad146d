import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/oauth/settings/: what clients send and receive, in the native API's names. */

export const SettingsBody = Type.Object({
  organization: Uuid,
  password_grant: Type.Boolean({ description: "Whether this organization's API credentials may be exchanged for tokens (grant_type=password). Off by default." }),
  pkce_optional_for_confidential: Type.Boolean({
    description: "Whether this organization's confidential clients may leave out PKCE in the authorization code flow. Off by default: RFC 9700 asks PKCE of every client.",
  }),
  updated_at: Type.Union([Timestamp, Type.Null()]),
});

export const SettingsPatch = Type.Object({ password_grant: Type.Optional(Type.Boolean()), pkce_optional_for_confidential: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
