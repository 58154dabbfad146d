import type { Selectable } from 'kysely';

/**
 * One rule of a personal token's ACL (Alpacon's token ACLs, deny-by-default per kind): a
 * command pattern (`command`), a server (`server`) or a path pattern with an action (`file`),
 * with the server account it allows (`username`: '' the token owner's name, '*' anyone) and
 * group ('' or '*': any).
 */
export interface TokenAclsTable {
  id: string;
  token_id: string;
  kind: 'command' | 'server' | 'file';
  command: string | null;
  server_id: string | null;
  path: string | null;
  /** `upload`, `download` or `*`. */
  action: string | null;
  username: string;
  groupname: string;
  created_at: string;
}

export interface TokenAclTables {
  token_acls: TokenAclsTable;
}

export type TokenAclRow = Selectable<TokenAclsTable>;
