// Which project an ingest request belongs to, from its X-API-Key (HTTP header or gRPC metadata).
// Projects are not implemented yet: everything goes to one default project. The config DB work
// replaces `defaultProjectResolver` (Coroot's rule: an empty key is accepted while exactly one
// project exists; an unknown key is refused with 404 / UNAUTHENTICATED).

export interface Project { id: string; name: string }

/** Returns the project for a key, or undefined when the key is not valid. */
export type ResolveProject = (apiKey: string) => Project | undefined | Promise<Project | undefined>;

export const defaultProject: Project = { id: 'default', name: 'default' };

export const defaultProjectResolver: ResolveProject = () => defaultProject;

export const projectNotFoundMessage = 'project not found (x-api-key header is missing or invalid)';
