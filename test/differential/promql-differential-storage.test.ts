// PromQL differential vs Prometheus 2.42 (promql-differential-suite.ts) with no in-memory head:
// every read goes to chDB (resolved series, binary sample rows), as after a restart for data
// written before it. The storage read path is optimised on its own, so it is held to the same corpus;
// its reads go through the decoded-sample cache, and a second pass is answered from it alone.
import { promqlDifferentialSuite } from './promql-differential-suite.ts';

promqlDifferentialSuite('PromQL differential vs Prometheus 2.42, storage reads only', { metricsHeadSamples: 0 }, { cachedPass: true });
