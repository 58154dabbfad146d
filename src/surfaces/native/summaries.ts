import type { ServerSummary, UserSummary } from '../../core/summaries.ts';

/** The embedded user and server summaries, in the native API's (and Alpacon's) names. */

export const renderUserSummary = (u: UserSummary) => ({ id: u.id, name: u.name, email: u.email });

export const renderServerSummary = (s: ServerSummary) => ({ id: s.id, name: s.name, os: s.os, is_connected: s.isConnected });
