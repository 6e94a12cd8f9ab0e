// Roles are ordered: each one can do everything the one below it can.
import type { RoleName } from '../storage/configdb/users.ts';

export type { RoleName };
export const roleNames: readonly RoleName[] = ['viewer', 'editor', 'admin'];

const rank: Record<RoleName, number> = { viewer: 10, editor: 20, admin: 30 };

export function roleAtLeast(role: RoleName, min: RoleName): boolean {
  return rank[role] >= rank[min];
}

export function isRoleName(v: unknown): v is RoleName {
  return typeof v === 'string' && (roleNames as readonly string[]).includes(v);
}

/** What a request without credentials may do: a role, or nothing. */
export type AnonymousRole = RoleName | 'none';

export function isAnonymousRole(v: unknown): v is AnonymousRole {
  return v === 'none' || isRoleName(v);
}
