// PromQL differential vs Prometheus 2.42 (promql-differential-suite.ts), answered where the server
// answers recent data: its in-memory head of the samples it has stored.
import { promqlDifferentialSuite } from './promql-differential-suite.ts';

promqlDifferentialSuite('PromQL differential vs Prometheus 2.42', {});
