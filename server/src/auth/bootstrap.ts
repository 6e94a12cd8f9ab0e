// First start: a project to put data in and an admin to log in with, so that `npm start` works
// with no configuration. Later starts change nothing.
import { randomBytes } from 'node:crypto';
import type { ConfigDb } from '../storage/configdb/config-db.ts';
import { ConflictError } from '../storage/configdb/errors.ts';
import { hashPassword, passwordProblem } from './password.ts';

export const adminName = 'admin';
export const adminEmail = 'admin@localhost';
export const defaultProjectName = 'default';

export interface BootstrapOptions {
  /** --admin-password / ADMIN_PASSWORD: used only when the admin is created. */
  adminPassword?: string;
  log: (msg: string) => void;
}

export async function bootstrapConfig(db: ConfigDb, opts: BootstrapOptions): Promise<void> {
  if (opts.adminPassword !== undefined) {
    const problem = passwordProblem(opts.adminPassword);
    if (problem) throw new Error(`invalid --admin-password: ${problem}`);
  }
  const project = await db.projects.createIfNone(defaultProjectName);
  if (project) opts.log(`created project "${project.name}" (id ${project.id}); agents may push without an API key while it is the only project`);

  if (await db.users.count() > 0) return;
  const generated = opts.adminPassword === undefined;
  const password = opts.adminPassword ?? randomBytes(12).toString('base64url');
  try {
    await db.users.create({ email: adminEmail, name: adminName, passwordHash: await hashPassword(password), role: 'admin' });
  } catch (e) {
    if (e instanceof ConflictError) return; // another replica created it first
    throw e;
  }
  // The generated password is printed this once and never again; a given one is never printed.
  if (generated) opts.log(`created user "${adminName}" with password ${password} (shown only now; change it with PUT /api/me/password, or set --admin-password before the first start)`);
  else opts.log(`created user "${adminName}" with the password from --admin-password`);
}
