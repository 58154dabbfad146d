import type { OauthOrganizationSettings, OauthSettingsService } from '../../../core/oauth/organization-settings.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { SettingsBody, SettingsPatch } from '../wire/oauth-settings.ts';

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
