// The `domain` label of container_dns_requests_total (reference/node-agent.md §1.5): the question
// name as asked, with the rewrites that keep the label's cardinality bounded — reverse lookups and
// EC2 host names collapse to one name each, search-path expansions lose the appended suffix —
// and at most `maxPerContainer` distinct names per container, the rest counted as `~other`.
// It also decides which answers are not worth a sample: an AAAA question answered NOERROR with no
// answers (the usual reply for a name that only has IPv4 addresses, asked by every dual-stack
// resolver alongside the A question).
import type { L7RequestInfo, L7ResponseInfo } from '../l7/l7-parser.ts';

export const OTHER_DOMAINS = '~other';
export const SEARCH_PATH_SUFFIX = 'search_path_suffix';

const EC2_HOST = /^ip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}$/;
const TOP_LEVEL = new Set(['com', 'net', 'org', 'io']);

/** The question name as the label shows it (no trailing dot). */
export function normaliseDnsDomain(name: string): string {
  const domain = name.endsWith('.') ? name.slice(0, -1) : name;
  const lower = domain.toLowerCase();
  if (lower.endsWith('.in-addr.arpa')) return 'IP.in-addr.arpa';
  if (lower.endsWith('.ip6.arpa')) return 'IP.ip6.arpa';
  const labels = domain.split('.');
  if (labels.length > 1 && EC2_HOST.test(labels[0]!) && labels.slice(1).some((l) => l.toLowerCase().startsWith('ec2'))) {
    return ['IP', ...labels.slice(1)].join('.');
  }
  // A resolver that walks its search path asks "api.example.com.<search domain>": a well-known
  // top-level label followed by more labels. The suffix is the searcher's, not the name's.
  for (let i = 1; i < labels.length - 1; i++) {
    if (TOP_LEVEL.has(labels[i]!.toLowerCase())) return [...labels.slice(0, i + 1), SEARCH_PATH_SUFFIX].join('.');
  }
  return domain;
}

/** Per-container bounded set of domain labels. */
export class DnsDomains {
  private readonly seen = new Map<string, Set<string>>();
  /** Containers tracked; past this, new containers' domains all go to ~other. */
  private readonly maxContainers: number;

  constructor(private readonly maxPerContainer = 50, maxContainers = 10_000) {
    this.maxContainers = maxContainers;
  }

  /**
   * The (request_type, domain) a DNS request is counted under, or undefined when it is not
   * counted (AAAA, NOERROR, no answers; or no question could be read).
   */
  labels(containerId: string, request: L7RequestInfo, response: L7ResponseInfo & { answers?: number } | undefined): { requestType: string; domain: string } | undefined {
    if (request.domain === undefined || request.method === undefined) return undefined;
    if (request.method === 'TypeAAAA' && response?.status === 'ok' && (response.answers ?? response.addresses?.length ?? 0) === 0) return undefined;
    return { requestType: request.method, domain: this.admit(containerId, normaliseDnsDomain(request.domain)) };
  }

  private admit(containerId: string, domain: string): string {
    let set = this.seen.get(containerId);
    if (!set) {
      if (this.seen.size >= this.maxContainers) return OTHER_DOMAINS;
      this.seen.set(containerId, (set = new Set()));
    }
    if (set.has(domain)) return domain;
    if (set.size >= this.maxPerContainer) return OTHER_DOMAINS;
    set.add(domain);
    return domain;
  }
}
