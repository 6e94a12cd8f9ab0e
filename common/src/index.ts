export * from './protobuf.ts';
export * from './remote-write.ts';
export { SnappyOutput } from './snappy.ts';
export * from './listen-address.ts';
export { PROMETHEUS_TEXT_CONTENT_TYPE, formatLabels, renderPrometheusText, type MetricFamily, type MetricFamilyType, type MetricSample } from './prometheus-text.ts';
