// Domain types of the service map: applications (one per container_id for now) and the TCP links
// between them, as the UI draws them.

export type EdgeStatus = 'ok' | 'warning' | 'critical';

export interface ServiceMapApplication {
  /** The container_id label, e.g. /k8s/default/api or /docker/redis. */
  id: string;
  /** Distinct hosts (machine_id, or instance when absent) running it during the window. */
  instances: number;
}

export interface ServiceMapEdge {
  source: string;
  /** An application id, or external:<ip:port> when no known application listens there. */
  target: string;
  /** The addresses the source dialled that led to this target, sorted. */
  destinations: string[];
  /** Successful connects over the window: increase_pure(), exact, a new series counted from zero. */
  connects: number;
  failures: number;
  retransmits: number;
  /** Open connections at the end of the window. */
  activeConnections: number;
  status: EdgeStatus;
}

export interface ServiceMap {
  applications: ServiceMapApplication[];
  edges: ServiceMapEdge[];
  /** Unix milliseconds of the window end. */
  generatedAt: number;
}
