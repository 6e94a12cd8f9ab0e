// Who may call which route. Every route the server registers needs an entry here (or falls under
// a prefix below); test/access-control.test.ts walks all registered routes and fails on a missing
// one. Routes without an entry are admin-only at run time, so forgetting one fails closed.
//
//   public   anyone
//   ingest   X-API-Key of a project (an empty key while exactly one project exists)
//   session  a logged-in user of any role (the anonymous role is not enough)
//   viewer / editor / admin   at least that role, from a session or the anonymous role
//   query    viewer, and also HTTP basic auth (user + password) or a project API key as
//            "Authorization: Bearer <key>" or X-API-Key, for Grafana and promtool
import type { RoleName } from './roles.ts';

export type Access = 'public' | 'ingest' | 'session' | 'query' | RoleName;

export const routeAccess: Readonly<Record<string, Access>> = {
  'GET /health': 'public',
  // The server's own metrics: readable like the Prometheus API, so a scrape job can authenticate
  // with basic auth or an API key when anonymous access is off.
  'GET /metrics': 'query',
  // The UI: index.html, assets, and client-side routes (served by @fastify/static).
  'GET /': 'public',
  'GET /*': 'public',

  'POST /api/login': 'public',
  'POST /api/logout': 'public',
  'GET /api/me': 'viewer',
  'PUT /api/me/password': 'session',
  'GET /api/roles': 'viewer',
  'GET /api/access/routes': 'admin',

  'GET /api/service-map': 'viewer',
  'GET /api/storage': 'viewer',
  'GET /api/upstream': 'viewer',

  'GET /api/projects': 'viewer',
  'POST /api/projects': 'admin',
  'GET /api/projects/:projectId': 'viewer',
  'PUT /api/projects/:projectId': 'admin',
  'DELETE /api/projects/:projectId': 'admin',

  'GET /api/projects/:projectId/api-keys': 'admin',
  'POST /api/projects/:projectId/api-keys': 'admin',
  'DELETE /api/projects/:projectId/api-keys/:keyId': 'admin',

  'GET /api/projects/:projectId/settings': 'viewer',
  'PUT /api/projects/:projectId/settings/:key': 'editor',
  'DELETE /api/projects/:projectId/settings/:key': 'editor',

  'GET /api/server-settings': 'admin',
  'PUT /api/server-settings/:key': 'admin',

  'GET /api/users': 'admin',
  'POST /api/users': 'admin',
  'GET /api/users/:userId': 'admin',
  'PUT /api/users/:userId': 'admin',
  'DELETE /api/users/:userId': 'admin',
};

/** Route families that share one rule, so a new ingest or Prometheus endpoint is covered at once. */
export const prefixAccess: ReadonlyArray<readonly [string, Access]> = [
  ['/v1/', 'ingest'],
  ['/prometheus/api/v1/', 'query'],
];

/** The rule for a registered route (its URL pattern, not the request path); undefined when none. */
export function accessFor(method: string, routeUrl: string): Access | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  const exact = routeAccess[`${m} ${routeUrl}`];
  if (exact) return exact;
  return prefixAccess.find(([p]) => routeUrl.startsWith(p))?.[1];
}
