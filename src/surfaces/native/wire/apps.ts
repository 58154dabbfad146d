import { Type } from 'typebox';
import { MAX_AMOUNT, SIZES } from '../../../core/apps/plans.ts';
import { DOMAIN_NAME_MAX, TLS_CERT_MAX, TLS_KEY_MAX } from '../../../core/apps/domain-rules.ts';
import { NAME_LENGTH, STACKS } from '../../../core/apps/rules.ts';
import { RUN_COMMAND_MAX } from '../../../core/apps/run-service.ts';
import { VARIABLE_LIMITS } from '../../../core/apps/variable-service.ts';
import { Nullable, Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/apps/apps/ and everything under an app: what clients send and receive. */

export const AppItemParams = Type.Object({ id: Type.String({ maxLength: 200 }), item: Type.String({ maxLength: 200 }) });

export const AppBody = Type.Object({
  id: Uuid,
  name: Type.String({ description: 'Also the host name the router serves the app at, under the apps domain.' }),
  organization: Uuid,
  status: Type.String({ description: 'new, building, running, stopped, crashed, restarting, scaling, booting, or deleting.' }),
  stack: Type.String({ description: STACKS.join(' or ') }),
  force_https: Type.Boolean(),
  health_check_path: Nullable(Type.String({ description: 'New web processes must answer GET on it with 2xx or 3xx before they get traffic; null: accepting a TCP connection on PORT suffices.' })),
  url: Type.String({ description: 'This resource.' }),
  web_url: Type.String({ description: 'Where the router serves the app.' }),
  last_deployed_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const Name = Type.String({ maxLength: 200, description: `${NAME_LENGTH.min} to ${NAME_LENGTH.max} lowercase letters, digits and hyphens; unique on the installation.` });
export const Stack = Type.String({ maxLength: 50, description: `${STACKS.join(' or ')} (default nodejs).` });
export const AppPost = Type.Object({ name: Name, stack: Type.Optional(Stack), force_https: Type.Optional(Type.Boolean()) });
export const AppPatch = Type.Object({
  stack: Type.Optional(Stack),
  force_https: Type.Optional(Type.Boolean()),
  health_check_path: Type.Optional(Nullable(Type.String({ maxLength: 300, description: 'A path such as /healthz, or null for a TCP check.' }))),
});
export const RenamePost = Type.Object({ new_name: Name, current_name: Type.Optional(Type.String({ maxLength: 200, description: 'When given, must be the current name (a confirmation).' })) });
export const TransferPost = Type.Object({ organization: Type.String({ maxLength: 200, description: 'An organization of the acting subtree.' }) });

export const DeploymentBody = Type.Object({
  id: Uuid,
  app: Uuid,
  status: Type.String({ description: 'queued, building, pushing, starting, then success, build-error, crashed-error or timeout-error.' }),
  stack: Type.String(),
  archive_size: Type.Integer({ description: 'Bytes.' }),
  release: Nullable(Uuid),
  error: Nullable(Type.String()),
  task: Uuid,
  url: Type.String(),
  output_url: Type.String({ description: 'The build output, live (Server-Sent Events).' }),
  created_at: Timestamp,
  finished_at: Nullable(Timestamp),
});
export const DeploymentCreated = Type.Intersect([DeploymentBody, Type.Object({ task: Uuid })]);
export const ReleaseBody = Type.Object({ id: Uuid, version: Type.Integer(), deployment: Nullable(Uuid), processes: Type.Record(Type.String(), Type.String()), env: Type.Record(Type.String(), Type.String()), description: Type.String(), current: Type.Boolean(), created_at: Timestamp });
export const FormationItem = Type.Object({ name: Type.String(), amount: Type.Integer(), size: Type.String() });
export const ContainerBody = Type.Object({ id: Uuid, name: Type.String({ description: '`web-1`...' }), type: Type.String(), index: Type.Integer(), size: Type.String(), state: Type.String({ description: 'starting, up, stopping or crashed.' }), restarts: Type.Integer(), release: Uuid, address: Type.String(), created_at: Timestamp });
export const VariableBody = Type.Object({ id: Uuid, name: Type.String(), value: Type.String(), created_at: Timestamp, updated_at: Timestamp });
export const VariablePost = Type.Object({ name: Type.String({ maxLength: VARIABLE_LIMITS.name + 1 }), value: Type.String({ maxLength: VARIABLE_LIMITS.value + 1 }) });
export const LogLineBody = Type.Object({ seq: Type.Integer(), source: Type.String({ description: '`web-1`, `router`, `platform`...' }), line: Type.String(), created_at: Timestamp });


export const RollbackPost = Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })), release: Type.Optional(Type.String({ maxLength: 200 })) });
export const FormationBody = Type.Object({ containers: Type.Array(FormationItem), sizes: Type.Record(Type.String(), Type.Object({ memory: Type.Integer(), cpu: Type.Number() })) });
export const FormationPost = Type.Object({
  containers: Type.Array(
    Type.Object({
      name: Type.String({ maxLength: 30 }),
      amount: Type.Optional(Type.Integer({ description: `0 to ${MAX_AMOUNT}.` })),
      size: Type.Optional(Type.String({ maxLength: 10, description: Object.keys(SIZES).join(', ') })),
    }),
    { maxItems: 20 },
  ),
});
export const FormationAccepted = Type.Object({ containers: Type.Array(FormationItem), task: Uuid });
export const RestartPost = Type.Object({ scope: Type.Optional(Type.Array(Type.String({ maxLength: 30 }), { maxItems: 20 })) });
export const ContainersBody = Type.Object({ containers: Type.Array(ContainerBody) });
export const VariablesBody = Type.Object({ variables: Type.Array(VariableBody) });
export const VariablesPut = Type.Object({ variables: Type.Array(VariablePost, { maxItems: VARIABLE_LIMITS.count }), replace: Type.Optional(Type.Boolean()) });
export const VariablesDelete = Type.Object({ variable_ids: Type.Array(Type.String({ maxLength: 200 }), { maxItems: VARIABLE_LIMITS.count }) });
export const VariablePatch = Type.Object({ value: Type.String({ maxLength: VARIABLE_LIMITS.value + 1 }) });
export const OutputQuery = Type.Object({ last_event_id: Type.Optional(Type.String({ maxLength: 20 })) });
export const LogsQuery = Type.Object({ n: Type.Optional(Type.Integer({ default: 100 })), stream: Type.Optional(Type.Boolean()), last_event_id: Type.Optional(Type.String({ maxLength: 20 })) });
export const LogsBody = Type.Object({ lines: Type.Array(LogLineBody) });

export const RunBody = Type.Object({
  id: Uuid,
  app: Uuid,
  command: Type.String(),
  size: Type.String(),
  status: Type.String({ description: 'queued, running, then succeeded (exit code 0) or failed.' }),
  exit_code: Nullable(Type.Integer()),
  release: Uuid,
  task: Uuid,
  url: Type.String(),
  output_url: Type.String({ description: 'The output, live (Server-Sent Events).' }),
  created_at: Timestamp,
  finished_at: Nullable(Timestamp),
});
export const RunPost = Type.Object({
  command: Type.String({ maxLength: RUN_COMMAND_MAX + 1, description: 'A shell line, run by `/bin/sh -c` in `/app` with the release\'s environment.' }),
  size: Type.Optional(Type.String({ maxLength: 10, description: `${Object.keys(SIZES).join(', ')} (default M).` })),
});

export const CollaboratorBody = Type.Object({
  id: Uuid,
  app: Uuid,
  email: Type.String(),
  username: Nullable(Type.String({ description: 'The user who accepted; null while pending.' })),
  status: Type.String({ description: 'pending, then accepted.' }),
  invited_by: Nullable(Uuid),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export const CollaboratorsBody = Type.Object({ collaborators: Type.Array(CollaboratorBody) });
export const CollaboratorPost = Type.Object({ email: Type.String({ maxLength: 300, description: 'Who is invited: the user who accepts must have this email address.' }) });
export const CollaboratorInvited = Type.Intersect([CollaboratorBody, Type.Object({ invitation_token: Type.String({ description: 'Shown only here: the invited person accepts with it (POST /api/apps/collaborations/accept/).' }) })]);
export const CollaborationAccept = Type.Object({ token: Type.String({ maxLength: 200 }) });
export const CollaborationAccepted = Type.Object({ collaborator: CollaboratorBody, app: Type.Object({ id: Uuid, name: Type.String(), url: Type.String() }) });

export const DomainBody = Type.Object({
  id: Uuid,
  app: Uuid,
  name: Type.String({ description: 'Routed to the app by the router (Host, and SNI over HTTPS).' }),
  ssl: Type.Boolean({ description: 'Whether a certificate is set: the router then serves the domain over HTTPS.' }),
  tls_cert: Nullable(Type.String({ description: 'The certificate and its chain, PEM. The private key is never returned.' })),
  tls_expires_at: Nullable(Timestamp),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export const DomainsBody = Type.Object({ domains: Type.Array(DomainBody) });
const TlsCert = Type.String({ maxLength: TLS_CERT_MAX + 1, description: 'PEM: the certificate for the name, then its chain; with tls_key.' });
const TlsKey = Type.String({ maxLength: TLS_KEY_MAX + 1, description: "PEM: the certificate's private key, unencrypted; kept encrypted, never returned." });
export const DomainPost = Type.Object({
  name: Type.String({ maxLength: DOMAIN_NAME_MAX + 1, description: 'A domain name of yours, such as www.example.com; unique on the installation.' }),
  tls_cert: Type.Optional(TlsCert),
  tls_key: Type.Optional(TlsKey),
});
export const DomainPatch = Type.Object({ tls_cert: Nullable(TlsCert), tls_key: Nullable(TlsKey) }, { description: 'A new certificate and key, or null for both to serve the domain over plain HTTP only.' });
