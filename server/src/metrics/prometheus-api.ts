// The Prometheus HTTP API at /prometheus/api/v1/ (query, query_range, series, labels,
// label/<name>/values, metadata), so Grafana and promtool can use Rootsight as a data source.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CANNOT_COMPILE_REGEXP, ClickHouseQueryError } from '../storage/clickhouse/session.ts';
import { BadParameterError, parseDurationParam, parseTimeParam } from './api-params.ts';
import type { MetricMetadata } from '@rootsight/common';
import type { SeriesSource } from './engine/evaluator.ts';
import { instantQuery, maxPointsPerSeries, rangeQueryJson } from './engine/query.ts';
import { PromqlEvalError } from './engine/values.ts';
import type { LabelMatcher } from './label-matcher.ts';
import { parsePromql, PromqlSyntaxError } from './promql/parser.ts';

type Params = Record<string, string | string[] | undefined>;

export interface MetadataSource { metadata(): Promise<MetricMetadata[]> }
export interface LabelSetSource {
  selectLabelSets(matchers: readonly LabelMatcher[], fromMs: number, toMs: number): Promise<Record<string, string>[]>;
}

/** Without start/end, series and label lookups cover this much history (Prometheus: all of it). */
const defaultMetadataWindowMs = 7 * 86_400_000;

export function registerPrometheusApi(app: FastifyInstance, source: SeriesSource & MetadataSource & LabelSetSource, now: () => number = Date.now): void {
  const route = (url: string, handler: (p: Params, req: FastifyRequest) => Promise<unknown>): void => {
    app.route({ method: ['GET', 'POST'], url: `/prometheus/api/v1/${url}`, handler: (req, reply) => answer(reply, () => handler(params(req), req)) });
  };

  route('metadata', async (p) => {
    const metric = one(p, 'metric');
    const limit = one(p, 'limit') === undefined ? Infinity : Number(one(p, 'limit'));
    const out: Record<string, { type: string; help: string; unit: string }[]> = {};
    for (const m of await source.metadata()) {
      if (Object.keys(out).length >= limit) break;
      if (metric === undefined || metric === m.family) out[m.family] = [{ type: m.type, help: m.help, unit: m.unit }];
    }
    return out;
  });

  route('query', async (p) => {
    const time = parseTimeParam('time', one(p, 'time'), now());
    return instantQuery(source, requireQuery(p), time);
  });

  route('query_range', async (p) => {
    const query = requireQuery(p);
    const start = parseTimeParam('start', one(p, 'start'));
    const end = parseTimeParam('end', one(p, 'end'));
    const step = parseDurationParam('step', one(p, 'step'));
    if (end < start) throw new BadParameterError('invalid parameter "end": end timestamp must not be before start time');
    if (step <= 0) throw new BadParameterError('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((end - start) / step > maxPointsPerSeries) {
      throw new BadParameterError('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    return new SerialisedJson(await rangeQueryJson(source, query, start, end, step));
  });

  route('series', async (p) => {
    const selectors = matchParams(p);
    if (selectors.length === 0) throw new BadParameterError('no match[] parameter provided');
    const [from, to] = timeRange(p, now());
    return [...(await labelSets(source, selectors, from, to)).values()];
  });

  route('labels', async (p) => {
    const [from, to] = timeRange(p, now());
    const names = new Set<string>();
    for (const l of (await labelSets(source, matchParams(p), from, to)).values()) for (const k of Object.keys(l)) names.add(k);
    return [...names].sort();
  });

  route('label/:name/values', async (p, req) => {
    const name = (req.params as { name: string }).name;
    const [from, to] = timeRange(p, now());
    const values = new Set<string>();
    for (const l of (await labelSets(source, matchParams(p), from, to)).values()) if (l[name] !== undefined && l[name] !== '') values.add(l[name]!);
    return [...values].sort();
  });
}

/** Distinct label sets of the union of the selectors (all series when there are none). */
async function labelSets(source: LabelSetSource, selectors: LabelMatcher[][], from: number, to: number): Promise<Map<string, Record<string, string>>> {
  const lists = selectors.length > 0 ? selectors : [[{ name: '__name__', type: '=~', value: '.+' } as LabelMatcher]];
  const out = new Map<string, Record<string, string>>();
  for (const sets of await Promise.all(lists.map((m) => source.selectLabelSets(m, from - 1, to)))) {
    for (const l of sets) out.set(JSON.stringify(Object.entries(l).sort()), l);
  }
  return out;
}

function matchParams(p: Params): LabelMatcher[][] {
  const raw = p['match[]'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((text) => {
    let e;
    try { e = parsePromql(text); } catch (err) {
      if (err instanceof PromqlSyntaxError) throw new BadParameterError(`invalid parameter "match[]": ${err.message}`);
      throw err;
    }
    if (e.kind !== 'vector') throw new BadParameterError(`invalid parameter "match[]": ${JSON.stringify(text)} is not a series selector`);
    return e.matchers;
  });
}

function timeRange(p: Params, nowMs: number): [number, number] {
  const end = parseTimeParam('end', one(p, 'end'), nowMs);
  const start = parseTimeParam('start', one(p, 'start'), end - defaultMetadataWindowMs);
  if (end < start) throw new BadParameterError('invalid parameter "end": end timestamp must not be before start time');
  return [start, end];
}

function one(p: Params, name: string): string | undefined {
  const v = p[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Query-string parameters merged with a form-encoded POST body (the body wins, as in Prometheus). */
function params(req: FastifyRequest): Params {
  const out: Params = { ...(req.query as Params) };
  if (req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) Object.assign(out, req.body as Params);
  return out;
}

function requireQuery(p: Params): string {
  const q = one(p, 'query');
  if (q === undefined || q.trim() === '') throw new BadParameterError('invalid parameter "query": missing or empty PromQL expression');
  return q;
}

async function answer(reply: FastifyReply, run: () => Promise<unknown>): Promise<void> {
  try {
    const data = await run();
    if (data instanceof SerialisedJson) {
      await reply.type('application/json; charset=utf-8').send(`{"status":"success","data":${data.text}}`);
      return;
    }
    await reply.send({ status: 'success', data });
  } catch (e) {
    if (e instanceof BadParameterError) return error(reply, 400, 'bad_data', e.message);
    if (e instanceof PromqlSyntaxError) return error(reply, 400, 'bad_data', `invalid parameter "query": ${e.message}`);
    if (e instanceof PromqlEvalError) return error(reply, 422, 'execution', e.message);
    if (e instanceof ClickHouseQueryError && e.clickhouseCode === CANNOT_COMPILE_REGEXP) {
      return error(reply, 400, 'bad_data', `invalid parameter "query": invalid regular expression in a label matcher: ${firstLine(e.message)}`);
    }
    reply.log.error(e);
    return error(reply, 500, 'internal', (e as Error).message);
  }
}

/** A `data` value that is already JSON text. */
class SerialisedJson {
  constructor(readonly text: string) {}
}

async function error(reply: FastifyReply, code: number, errorType: string, message: string): Promise<void> {
  await reply.code(code).send({ status: 'error', errorType, error: message });
}

function firstLine(s: string): string {
  // Keep RE2's own complaint; drop ClickHouse's advice about SQL string escaping, which does not apply.
  return s.split('\n')[0]!.replace(/^Code: \d+\. DB::Exception: /, '').replace(/\. Look at .*$/, '');
}
