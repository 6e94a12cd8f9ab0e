// Names the container of a cgroup id when no process of it is known: a process that connects
// and exits within milliseconds is gone before /proc can be read, but its socket still carries
// its v2 cgroup id, and the kernel gave us its comm. The id is the inode of the cgroup's
// directory, so walking the v2 tree maps ids back to paths.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { classifyCgroupPath } from './container-id.ts';
import { containerIdOf } from './container-naming.ts';

const REWALK_INTERVAL_MS = 5000;
const MAX_CGROUPS = 100_000;

export class CgroupIdIndex {
  private paths = new Map<number, string>();
  private lastWalkMs = 0;
  private walking: Promise<void> | undefined;

  /** @param v2Root where the v2 hierarchy is mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified); undefined = none */
  constructor(private readonly v2Root: () => string | undefined, private readonly now: () => number = Date.now) {}

  /** The container id for a process known only by its cgroup id and comm; undefined if unknowable or ignored. */
  async containerOf(cgroupId: number, comm: string): Promise<string | undefined> {
    let path = this.paths.get(cgroupId);
    if (path === undefined && this.now() - this.lastWalkMs >= REWALK_INTERVAL_MS) {
      await this.walk();
      path = this.paths.get(cgroupId);
    }
    if (path === undefined) return undefined;
    return containerIdOf(classifyCgroupPath(path), undefined, { comm: comm || undefined });
  }

  private walk(): Promise<void> {
    this.walking ??= this.doWalk().finally(() => { this.walking = undefined; });
    return this.walking;
  }

  private async doWalk(): Promise<void> {
    this.lastWalkMs = this.now();
    const root = this.v2Root();
    if (!root) return;
    const paths = new Map<number, string>();
    const visit = async (dir: string, rel: string): Promise<void> => {
      if (paths.size >= MAX_CGROUPS) return;
      try {
        paths.set((await stat(dir)).ino, rel || '/');
        for (const e of await readdir(dir, { withFileTypes: true })) {
          if (e.isDirectory()) await visit(join(dir, e.name), `${rel}/${e.name}`);
        }
      } catch {
        // removed while walking
      }
    };
    await visit(root, '');
    this.paths = paths;
  }
}
