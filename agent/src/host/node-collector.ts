// node_info and node_agent_info: the node's identity as metrics.
import type { MetricCollector, MetricFamily } from '../export/metric-family.ts';
import type { NodeIdentity } from './node-identity.ts';

export const AGENT_VERSION = '0.1.0';

export class NodeCollector implements MetricCollector {
  constructor(private readonly node: NodeIdentity) {}

  collect(): MetricFamily[] {
    return [
      { name: 'node_info', help: 'Host name and kernel release of the node', type: 'gauge', samples: [{ labels: { hostname: this.node.hostname, kernel_version: this.node.kernelVersion }, value: 1 }] },
      { name: 'node_agent_info', help: 'Version of the Rootsight agent', type: 'gauge', samples: [{ labels: { version: AGENT_VERSION }, value: 1 }] },
    ];
  }
}
