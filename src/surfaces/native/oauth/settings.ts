import { Type } from 'typebox';
import type { OauthOrganizationSettings, OauthSettingsService } from '../../../core/oauth/organization-settings.ts';
import { commonErrors, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const SettingsBody = Type.Object({
  organization: Uuid,
  password_grant: Type.Boolean({ description: "Whether this organization's API credentials may be exchanged for tokens (grant_type=password). Off by default." }),
  pkce_optional_for_confidential: Type.Boolean({
    description: "Whether this organization's confidential clients may leave out PKCE in the authorization code flow. Off by default: RFC 9700 asks PKCE of every client.",
  }),
  updated_at: Type.Union([Timestamp, Type.Null()]),
});
const SettingsPatch = Type.Object({ password_grant: Type.Optional(Type.Boolean()), pkce_optional_for_confidential: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

const render = (settings: OauthOrganizationSettings) => ({
  organization: settings.organizationId,
  password_grant: settings.passwordGrant,
  pkce_optional_for_confidential: settings.pkceOptionalForConfidential,
  updated_at: settings.updatedAt,
});

/** `/api/oauth/settings/`: the acting organization's OAuth switches. */
export function oauthSettingsRoutes(app: FastifyTypeBox, settings: OauthSettingsService): void {
  const tags = ['oauth'];
  const url = '/api/oauth/settings/';

  app.get(url, {
    schema: { tags, summary: "The acting organization's OAuth settings", response: { 200: SettingsBody, ...commonErrors } },
    handler: async (request) => render(await settings.get(request.actor)),
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url,
      schema: { tags, summary: "Change the acting organization's OAuth settings", body: SettingsPatch, response: { 200: SettingsBody, ...commonErrors } },
      handler: async (request) => render(await settings.update(request.actor, { passwordGrant: request.body.password_grant, pkceOptionalForConfidential: request.body.pkce_optional_for_confidential })),
    });
  }
}
