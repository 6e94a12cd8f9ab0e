// container_info: one series per known container, so the server learns about
// applications even before they talk to anyone.
import type { MetricCollector, MetricFamily } from '../export/metric-family.ts';
import type { ContainerRef } from '../procs/process-table.ts';

export class ContainerCollector implements MetricCollector {
  /**
   * @param minAgeMs containers younger than this are not announced yet, so that short-lived
   *   commands (a shell pipeline's `cut`, a cron job's `curl`) do not each become an application.
   *   Their TCP activity is still counted.
   */
  constructor(private readonly source: { containers(): ContainerRef[] }, private readonly minAgeMs: number, private readonly now: () => number = Date.now) {}

  /**
   * Coroot's agent emits container_info only when an image or systemd property is
   * known; we emit it for every container (empty labels left out), because on hosts
   * without runtime metadata it is the only series that says a container exists.
   */
  collect(): MetricFamily[] {
    return [{
      name: 'container_info', help: 'Metadata of a container; value always 1', type: 'gauge',
      samples: this.source.containers().filter((c) => this.now() - c.startedAtMs >= this.minAgeMs).map((c) => ({ labels: { container_id: c.containerId, image: c.image ?? '', systemd_triggered_by: '', systemd_type: '' }, value: 1 })),
    }];
  }
}
