// Prometheus-compatible query endpoints, so Grafana and promtool can read our store.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CANNOT_COMPILE_REGEXP, ClickHouseQueryError } from '../storage/clickhouse/session.ts';
import { BadParameterError, parseDurationParam, parseTimeParam } from './api-params.ts';
import type { MetricMetadata } from '@rootsight/common';
import type { SeriesSource } from './engine/evaluator.ts';
import { instantQuery, maxPointsPerSeries, rangeQuery } from './engine/query.ts';
import { PromqlEvalError } from './engine/values.ts';
import { PromqlSyntaxError } from './promql/parser.ts';

type Params = Record<string, string | undefined>;

export interface MetadataSource { metadata(): Promise<MetricMetadata[]> }

export function registerPrometheusApi(app: FastifyInstance, source: SeriesSource & MetadataSource, now: () => number = Date.now): void {
  app.get('/prometheus/api/v1/metadata', (req, reply) => answer(reply, async () => {
    const metric = (req.query as Params).metric;
    const out: Record<string, { type: string; help: string; unit: string }[]> = {};
    for (const m of await source.metadata()) {
      if (metric === undefined || metric === m.family) out[m.family] = [{ type: m.type, help: m.help, unit: m.unit }];
    }
    return out;
  }));

  app.route({
    method: ['GET', 'POST'],
    url: '/prometheus/api/v1/query',
    handler: (req, reply) => answer(reply, async () => {
      const p = params(req);
      const time = parseTimeParam('time', p.time, now());
      return instantQuery(source, requireQuery(p), time);
    }),
  });

  app.route({
    method: ['GET', 'POST'],
    url: '/prometheus/api/v1/query_range',
    handler: (req, reply) => answer(reply, async () => {
      const p = params(req);
      const query = requireQuery(p);
      const start = parseTimeParam('start', p.start);
      const end = parseTimeParam('end', p.end);
      const step = parseDurationParam('step', p.step);
      if (end < start) throw new BadParameterError('invalid parameter "end": end timestamp must not be before start time');
      if (step <= 0) throw new BadParameterError('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
      if ((end - start) / step > maxPointsPerSeries) {
        throw new BadParameterError('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
      }
      return rangeQuery(source, query, start, end, step);
    }),
  });
}

/** Query-string parameters merged with a form-encoded POST body (the body wins, as in Prometheus). */
function params(req: FastifyRequest): Params {
  const out: Params = { ...(req.query as Params) };
  if (req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) Object.assign(out, req.body as Params);
  return out;
}

function requireQuery(p: Params): string {
  if (p.query === undefined || p.query.trim() === '') throw new BadParameterError('invalid parameter "query": missing or empty PromQL expression');
  return p.query;
}

async function answer(reply: FastifyReply, run: () => Promise<unknown>): Promise<void> {
  try {
    const data = await run();
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

async function error(reply: FastifyReply, code: number, errorType: string, message: string): Promise<void> {
  await reply.code(code).send({ status: 'error', errorType, error: message });
}

function firstLine(s: string): string {
  // Keep RE2's own complaint; drop ClickHouse's advice about SQL string escaping, which does not apply.
  return s.split('\n')[0]!.replace(/^Code: \d+\. DB::Exception: /, '').replace(/\. Look at .*$/, '');
}
