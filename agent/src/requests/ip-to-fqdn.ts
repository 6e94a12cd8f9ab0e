// IP → FQDN pairs learnt from the A and AAAA answers the agent sees, published as
// ip_to_fqdn{ip, fqdn} = 1 (a host-level metric, not a container's). The server names an external
// destination by the name its callers resolved to reach it ("api.example.com:443" rather than an
// address that changes under a load balancer).
//
// FQDN mode (reference/node-agent.md §1.5): a public address whose last answer listed several
// addresses, all public, is one of a pool behind a name (a CDN, a cloud API); connections to it
// are labelled by the name (destination="<fqdn>:<port>", no actual_destination), so the pool's
// changing addresses make one series, not one per address.
import type { MetricFamily } from '../export/metric-family.ts';
import { isPublicIp } from '../net/address.ts';

/** Pairs not seen again in a DNS answer for this long are dropped. */
const TTL_MS = 3_600_000;

export class IpToFqdn {
  /** Map order is the order of the last answer: the oldest come first and go first. */
  private readonly byIp = new Map<string, { fqdn: string; seenMs: number; pooled: boolean }>();
  /** Answers whose pairs were not kept because the table was full. */
  evicted = 0;

  constructor(private readonly maxEntries = 10_000, private readonly now: () => number = Date.now) {}

  /** An answer to a question for `domain` (as asked) listing these addresses. */
  observe(domain: string, addresses: readonly string[]): void {
    const fqdn = (domain.endsWith('.') ? domain.slice(0, -1) : domain).toLowerCase();
    // Reverse lookups name addresses, not services; an empty name names nothing.
    if (fqdn === '' || fqdn.endsWith('.in-addr.arpa') || fqdn.endsWith('.ip6.arpa')) return;
    const seenMs = this.now();
    const pooled = addresses.length > 1 && addresses.every(isPublicIp);
    for (const ip of addresses) {
      this.byIp.delete(ip);
      this.byIp.set(ip, { fqdn, seenMs, pooled });
      if (this.byIp.size > this.maxEntries) {
        this.byIp.delete(this.byIp.keys().next().value!);
        this.evicted++;
      }
    }
  }

  /** FQDN mode: "<fqdn>:<port>" when the (actual) destination ip is one of a public pool behind a name. */
  destinationOf(ip: string, port: number): string | undefined {
    if (this.byIp.size === 0) return undefined;
    const e = this.byIp.get(ip);
    return e?.pooled ? `${e.fqdn}:${port}` : undefined;
  }

  collect(): MetricFamily[] {
    const cutoff = this.now() - TTL_MS;
    for (const [ip, e] of this.byIp) {
      if (e.seenMs >= cutoff) break; // the rest are newer
      this.byIp.delete(ip);
    }
    return [{
      name: 'ip_to_fqdn', help: 'IP addresses and the domain names DNS answers gave them (1 per pair)', type: 'gauge',
      samples: [...this.byIp].map(([ip, e]) => ({ labels: { ip, fqdn: e.fqdn }, value: 1 })),
    }];
  }
}
