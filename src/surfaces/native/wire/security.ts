import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';
import { ServerSummaryBody } from './summaries.ts';

/** The wire schemas of /api/security/*-acl/: token ACL rules, as Alpacon's CLI sends and reads them. */

const Account = {
  username: Type.String({ description: 'The server account the rule allows: "" the token owner\'s own name, "*" any, or one name.' }),
  groupname: Type.String({ description: 'The group: "" or "*" any, or one name.' }),
};
const AccountPost = {
  username: Type.Optional(Type.String({ maxLength: 40 })),
  groupname: Type.Optional(Type.String({ maxLength: 40 })),
};
const RuleBase = { id: Uuid, token: Uuid, token_name: Type.String(), created_at: Timestamp };
const TokenField = Type.String({ maxLength: 64, description: 'The id of one of your API tokens.' });

export const CommandAclBody = Type.Object({ ...RuleBase, command: Type.String({ description: '`*` alone: any command (a web shell needs it); otherwise `*` stands for any arguments, never for shell control characters.' }), ...Account });
export const CommandAclPost = Type.Object({ token: TokenField, command: Type.String({ maxLength: 1024 }), ...AccountPost });

export const ServerAclBody = Type.Object({ ...RuleBase, server: ServerSummaryBody });
export const ServerAclPost = Type.Object({ token: TokenField, server: Type.String({ maxLength: 64 }) });
export const ServerAclBulkPost = Type.Object({ token: TokenField, servers: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 }) });
export const ServerAclBulkCreated = Type.Object({ results: Type.Array(ServerAclBody) });
export const ServerAclBulkDeleted = Type.Object({ deleted: Type.Integer() });

export const FileAclBody = Type.Object({ ...RuleBase, path: Type.String({ description: 'An absolute path pattern (`*` stands for any characters), matched against the normalized path a transfer names.' }), action: Type.String({ description: '`upload`, `download` or `*`.' }), ...Account });
export const FileAclPost = Type.Object({ token: TokenField, path: Type.String({ maxLength: 4096 }), action: Type.String({ maxLength: 16 }), ...AccountPost });
