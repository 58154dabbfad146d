import { Type, type TSchema } from 'typebox';
import type { CoreServices } from '../../../core/services.ts';
import type { AclKind } from '../../../core/token-acl/acl-rules.ts';
import type { TokenAcl } from '../../../core/token-acl/token-acl-service.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { renderServerSummary } from '../summaries.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors } from '../wire/common.ts';
import { CommandAclBody, CommandAclPost, FileAclBody, FileAclPost, ServerAclBody, ServerAclBulkCreated, ServerAclBulkDeleted, ServerAclBulkPost, ServerAclPost } from '../wire/security.ts';

const ruleBase = (rule: TokenAcl) => ({ id: rule.id, token: rule.tokenId, token_name: rule.tokenName, created_at: rule.createdAt });
const renderServerRule = (rule: TokenAcl) => ({ ...ruleBase(rule), server: renderServerSummary(rule.server!) });

function render(rule: TokenAcl) {
  const base = ruleBase(rule);
  if (rule.kind === 'server') return renderServerRule(rule);
  const account = { username: rule.username, groupname: rule.groupname };
  return rule.kind === 'command' ? { ...base, command: rule.command, ...account } : { ...base, path: rule.path, action: rule.action, ...account };
}

const KINDS: { kind: AclKind; item: TSchema; body: TSchema; what: string }[] = [
  { kind: 'command', item: CommandAclBody, body: CommandAclPost, what: 'which commands a token may run (exec, web shell)' },
  { kind: 'server', item: ServerAclBody, body: ServerAclPost, what: 'which servers a token may reach' },
  { kind: 'file', item: FileAclBody, body: FileAclPost, what: 'which paths a token may upload to or download from' },
];

/**
 * `/api/security/{command,server,file}-acl/`: the ACL rules of your API tokens (Alpacon's
 * `alpacon token acl`). Each kind is deny-by-default for a token; managing rules takes a
 * credential no ACL binds (a login session).
 */
export function tokenAclRoutes(app: FastifyTypeBox, { tokenAcls }: Pick<CoreServices, 'tokenAcls'>): void {
  const tags = ['security'];
  for (const { kind, item, body, what } of KINDS) {
    const path = `/api/security/${kind}-acl/`;
    collectionRoutes(app, {
      path,
      tags,
      errors: commonErrors,
      item,
      render: () => render,
      list: { summary: `List the ${kind} ACL rules of your tokens: ${what}`, filters: { token: Type.Optional(Type.String({ maxLength: 64 })) }, run: (actor, request) => tokenAcls.list(actor, kind, request) },
      create: { summary: `Add a ${kind} ACL rule to one of your tokens`, body, run: async (actor, input) => ({ row: await tokenAcls.create(actor, kind, input as Record<string, string>) }) },
      retrieve: { summary: `Retrieve a ${kind} ACL rule`, run: (actor, id) => tokenAcls.get(actor, kind, id) },
      remove: { summary: `Delete a ${kind} ACL rule`, run: (actor, id) => tokenAcls.remove(actor, kind, id) },
    });
  }

  app.post('/api/security/server-acl/bulk/', {
    schema: { tags, summary: 'Grant a token several servers at once (servers it has already are kept)', body: ServerAclBulkPost, response: { 201: ServerAclBulkCreated, ...commonErrors } },
    handler: async (request, reply) => {
      const created = await tokenAcls.addServers(request.actor, request.body.token, request.body.servers);
      return reply.code(201).send({ results: created.map(renderServerRule) });
    },
  });

  app.post('/api/security/server-acl/bulk/delete/', {
    schema: { tags, summary: 'Take several servers away from a token at once', body: ServerAclBulkPost, response: { 200: ServerAclBulkDeleted, ...commonErrors } },
    handler: async (request) => ({ deleted: await tokenAcls.removeServers(request.actor, request.body.token, request.body.servers) }),
  });
}
