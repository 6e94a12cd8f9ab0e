// What the request e2e tests (postgres, mysql, memcached, dns) share: an in-process agent and a
// way to read its request counters as deltas from a baseline, so that whatever a readiness probe
// or server start-up did before the measured load does not count.
import { Agent } from '../../agent/src/agent.ts';
import { eventually } from './stand-in-containers.ts';
import { parseExposition, type ScrapedSample } from './scrape.ts';

export async function startAgent(): Promise<Agent> {
  return Agent.start({
    listen: '127.0.0.1:0', cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: (m) => console.error(`agent: ${m}`),
  });
}

export async function scrape(agent: Agent): Promise<ScrapedSample[]> {
  return parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
}

/** Sum of the samples of `name` whose labels include `match`. */
export function total(samples: ScrapedSample[], name: string, match: Record<string, string>): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** A named set of counter selections, read as a JSON-comparable record. */
export type Selection = Record<string, { name: string; labels: Record<string, string> }>;

export function read(samples: ScrapedSample[], sel: Selection): Record<string, number> {
  return Object.fromEntries(Object.entries(sel).map(([k, v]) => [k, total(samples, v.name, v.labels)]));
}

/** The agent's own loss and skip counters, printed when a count does not settle. */
export function diagnostics(samples: ScrapedSample[]): string {
  return JSON.stringify(samples.filter((x) => x.name.startsWith('rootsight_agent_skipped') || x.name.startsWith('rootsight_agent_l7'))
    .filter((x) => x.value !== 0).map((x) => [x.labels.reason ?? x.labels.counter, x.value]));
}

/**
 * Polls until the selected counters, minus `baseline`, equal `want` exactly, and checks they stay
 * there. Resolves with the settling scrape; times out with the last difference seen and the agent's loss counters.
 */
export async function settle(agent: Agent, sel: Selection, baseline: Record<string, number>, want: Record<string, number>, timeoutMs = 20_000): Promise<ScrapedSample[]> {
  let seen = '';
  return eventually(() => `counters ${JSON.stringify(want)}; last seen ${seen}`, async () => {
    const s = await scrape(agent);
    const now = read(s, sel);
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, (now[k] ?? 0) - (baseline[k] ?? 0)]));
    seen = `${JSON.stringify(got)} ${diagnostics(s)}`;
    return JSON.stringify(got) === JSON.stringify(want) ? s : undefined;
  }, timeoutMs).then(async (s) => {
    // Matching once is not enough: late events would push a count past the truth. Look again
    // after the drain period has passed several times over.
    await new Promise((r) => setTimeout(r, 1000));
    const again = read(await scrape(agent), sel);
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, (again[k] ?? 0) - (baseline[k] ?? 0)]));
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`counters moved past the truth: want ${JSON.stringify(want)}, now ${JSON.stringify(got)}`);
    return s;
  });
}

/** The container_id label the agent gives a stand-in container (Docker cgroupfs path, 12 hex). */
export function containerLabel(runtimeId: string): string {
  return `/docker/${runtimeId.slice(0, 12)}`;
}
