// Names the container of processes that exited before /proc could be read: a curl that connects
// and exits within milliseconds. Its socket still carries its cgroup id and the kernel recorded
// its comm at connect(), which is enough (see CgroupIdIndex). Answers are remembered per
// (pid, comm, cgroup) for TCP events and per (pid, cgroup) for L7 events, which carry no comm,
// so a reused pid is not mistaken for the exited process. Both memories are bounded.
import { CgroupIdIndex } from '../containers/cgroup-id-index.ts';

const MAX_REMEMBERED = 10_000;

export class ExitedProcessOwners {
  private readonly byComm = new Map<string, string | undefined>();
  private readonly byCgroup = new Map<string, string | undefined>();
  private readonly cgroups: CgroupIdIndex;

  constructor(v2Root: () => string | undefined) {
    this.cgroups = new CgroupIdIndex(v2Root);
  }

  /** Has this exited process been named (or found unnameable) already? comm is '' for L7 events. */
  known(pid: number, cgroupId: number, comm: string): boolean {
    return comm ? this.byComm.has(`${pid}|${comm}|${cgroupId}`) : this.byCgroup.has(`${pid}|${cgroupId}`);
  }

  /** The remembered container, or undefined. */
  ownerOf(pid: number, cgroupId: number, comm: string): string | undefined {
    return comm ? this.byComm.get(`${pid}|${comm}|${cgroupId}`) : this.byCgroup.get(`${pid}|${cgroupId}`);
  }

  /** Names the process from its cgroup and comm and remembers the answer. */
  async resolve(pid: number, cgroupId: number, comm: string): Promise<void> {
    if (this.byComm.size > MAX_REMEMBERED) this.byComm.clear();
    if (this.byCgroup.size > MAX_REMEMBERED) this.byCgroup.clear();
    const owner = await this.cgroups.containerOf(cgroupId, comm);
    if (comm) this.byComm.set(`${pid}|${comm}|${cgroupId}`, owner);
    // A TCP event named the process; its requests (L7 events, no comm) inherit that name.
    const key = `${pid}|${cgroupId}`;
    if (owner !== undefined || !this.byCgroup.has(key)) this.byCgroup.set(key, owner);
  }
}
