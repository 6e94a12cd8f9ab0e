import { Graph, layout } from '@dagrejs/dagre';
import type { EdgeLabel, GraphLabel, NodeLabel } from '@dagrejs/dagre';
import { isExternal, type ServiceEdge, type ServiceMapData } from './api.ts';
import { edgeLabelText } from './edgeLabel.ts';

export const NODE_WIDTH = 208;
export const NODE_HEIGHT = 48;
const LABEL_HEIGHT = 20;
const LABEL_CHAR_WIDTH = 6.4;

export type NodeKind = 'app' | 'external' | 'unlisted';

export interface PositionedNode {
  id: string;
  kind: NodeKind;
  /** Undefined for externals and for ids only seen in edges. */
  instances: number | undefined;
  /** Centre. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PositionedEdge {
  key: string;
  edge: ServiceEdge;
  points: { x: number; y: number }[];
  labelX: number;
  labelY: number;
  labelWidth: number;
  labelHeight: number;
}

export interface MapLayout {
  nodes: PositionedNode[];
  edges: PositionedEdge[];
  width: number;
  height: number;
}

function labelWidth(e: ServiceEdge): number {
  return Math.ceil(edgeLabelText(e).length * LABEL_CHAR_WIDTH + 16);
}

export function layoutServiceMap(data: ServiceMapData): MapLayout {
  const g = new Graph<GraphLabel, NodeLabel, EdgeLabel>({ multigraph: true });
  // dagre gives edge labels their own rank, so ranksep is only the gap on each side of a label.
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 56, edgesep: 20, marginx: 24, marginy: 24 });

  const kinds = new Map<string, NodeKind>();
  const instances = new Map<string, number>();
  for (const app of data.applications) {
    kinds.set(app.id, 'app');
    instances.set(app.id, app.instances);
  }
  for (const e of data.edges) {
    for (const id of [e.source, e.target]) {
      if (!kinds.has(id)) kinds.set(id, isExternal(id) ? 'external' : 'unlisted');
    }
  }
  // Sorted insertion keeps the layout stable across refreshes when nothing changed.
  for (const id of [...kinds.keys()].sort()) g.setNode(id, { width: NODE_WIDTH, height: NODE_HEIGHT });

  const keyed = data.edges
    .map((edge) => ({ edge, key: `${edge.source}\u0000${edge.target}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  keyed.forEach(({ edge, key }, i) => {
    g.setEdge(edge.source, edge.target, { width: labelWidth(edge), height: LABEL_HEIGHT, labelpos: 'c' }, `${i}:${key}`);
  });

  layout(g);

  const nodes: PositionedNode[] = g.nodes().map((id) => {
    const n = g.node(id);
    return {
      id,
      kind: kinds.get(id) ?? 'unlisted',
      instances: instances.get(id),
      x: n.x ?? 0,
      y: n.y ?? 0,
      width: n.width,
      height: n.height,
    };
  });

  const edges: PositionedEdge[] = keyed.map(({ edge, key }, i) => {
    const l = g.edge({ v: edge.source, w: edge.target, name: `${i}:${key}` });
    const points = l.points ?? [];
    const mid = points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
    return {
      key: `${i}:${key}`,
      edge,
      points,
      labelX: l.x ?? mid.x,
      labelY: l.y ?? mid.y,
      labelWidth: l.width ?? labelWidth(edge),
      labelHeight: l.height ?? LABEL_HEIGHT,
    };
  });

  const graph = g.graph();
  return { nodes, edges, width: Math.max(graph.width ?? 0, 1), height: Math.max(graph.height ?? 0, 1) };
}

/**
 * A smooth path through dagre's control points (uniform cubic B-spline, clamped at both ends),
 * which follows the routed points without the kinks of a polyline.
 */
export function splinePath(points: { x: number; y: number }[]): string {
  if (points.length === 0) return '';
  const [first] = points;
  if (points.length < 3) return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' ');
  const f = (n: number) => Math.round(n * 10) / 10;
  let d = `M${f(first.x)},${f(first.y)}`;
  const p1 = points[1];
  d += ` L${f((5 * first.x + p1.x) / 6)},${f((5 * first.y + p1.y) / 6)}`;
  for (let i = 2; i < points.length; i++) {
    const a = points[i - 2];
    const b = points[i - 1];
    const c = points[i];
    d += ` C${f((2 * a.x + b.x) / 3)},${f((2 * a.y + b.y) / 3)} ${f((a.x + 2 * b.x) / 3)},${f((a.y + 2 * b.y) / 3)} ${f((a.x + 4 * b.x + c.x) / 6)},${f((a.y + 4 * b.y + c.y) / 6)}`;
  }
  const a = points[points.length - 2];
  const b = points[points.length - 1];
  d += ` C${f((2 * a.x + b.x) / 3)},${f((2 * a.y + b.y) / 3)} ${f((a.x + 2 * b.x) / 3)},${f((a.y + 2 * b.y) / 3)} ${f(b.x)},${f(b.y)}`;
  return d;
}
