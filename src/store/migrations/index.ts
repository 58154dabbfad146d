import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0100 from './0100_identity.ts';
import * as m0200 from './0200_oauth.ts';
import * as m0300 from './0300_tasks.ts';
import * as m0310 from './0310_oauth_password_grant.ts';
import * as m0400 from './0400_compute.ts';
import * as m0410 from './0410_commands.ts';
import * as m0420 from './0420_iam_hardening.ts';
import * as m0450 from './0450_command_limits.ts';
import * as m0500 from './0500_dns.ts';
import * as m0530 from './0530_environments.ts';
import * as m0600 from './0600_apps.ts';
import * as m0610 from './0610_app_releases.ts';
import * as m0620 from './0620_server_id_blocks.ts';
import * as m0630 from './0630_app_runs.ts';
import * as m0640 from './0640_account_tokens_and_user_data.ts';
import * as m0650 from './0650_app_health_check.ts';
import * as m0660 from './0660_destroyed_servers.ts';
import * as m0700 from './0700_projects.ts';
import * as m0701 from './0701_orders.ts';
import * as m0720 from './0720_app_power.ts';
import * as m0740 from './0740_app_domains.ts';
import * as m0750 from './0750_app_collaborators.ts';
import * as m0760 from './0760_deployment_git_ref.ts';
import * as m0780 from './0780_web_shell.ts';
import * as m0790 from './0790_file_transfers.ts';
import * as m0800 from './0800_transfer_kinds.ts';
import * as m0810 from './0810_event_channels.ts';
import * as m0820 from './0820_image_templates.ts';
import * as m0830 from './0830_token_acls.ts';
import * as m0840 from './0840_registration_tokens_and_notes.ts';
import * as m0850 from './0850_app_run_env.ts';
import * as m0860 from './0860_event_channel_credential_kind.ts';
import * as m0870 from './0870_app_log_chunks.ts';
import * as m0880 from './0880_websh_channel_credentials.ts';

/**
 * Every migration, in order. Names sort by their number prefix; a migration, once released,
 * never changes: add a new one instead.
 */
const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0100_identity': m0100,
  '0200_oauth': m0200,
  '0300_tasks': m0300,
  '0310_oauth_password_grant': m0310,
  '0400_compute': m0400,
  '0410_commands': m0410,
  '0420_iam_hardening': m0420,
  '0450_command_limits': m0450,
  '0500_dns': m0500,
  '0530_environments': m0530,
  '0600_apps': m0600,
  '0610_app_releases': m0610,
  '0620_server_id_blocks': m0620,
  '0630_app_runs': m0630,
  '0640_account_tokens_and_user_data': m0640,
  '0650_app_health_check': m0650,
  '0660_destroyed_servers': m0660,
  '0700_projects': m0700,
  '0701_orders': m0701,
  '0720_app_power': m0720,
  '0740_app_domains': m0740,
  '0750_app_collaborators': m0750,
  '0760_deployment_git_ref': m0760,
  '0780_web_shell': m0780,
  '0790_file_transfers': m0790,
  '0800_transfer_kinds': m0800,
  '0810_event_channels': m0810,
  '0820_image_templates': m0820,
  '0830_token_acls': m0830,
  '0840_registration_tokens_and_notes': m0840,
  '0850_app_run_env': m0850,
  '0860_event_channel_credential_kind': m0860,
  '0870_app_log_chunks': m0870,
  '0880_websh_channel_credentials': m0880,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
