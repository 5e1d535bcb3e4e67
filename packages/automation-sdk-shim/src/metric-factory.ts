import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Builds the metrics of one owner: every one in the same registry, with the same label names. */
export interface MetricFactory<L extends string> {
  counter(name: string, help: string): Counter<L>;
  gauge(name: string, help: string): Gauge<L>;
  histogram(name: string, help: string, buckets: number[]): Histogram<L>;
}

/**
 * One place for prom-client's construction options. Names are taken as given: prom-client does
 * not append `_total` to counters (Python's client does), so callers spell it out.
 */
export function metricFactory<L extends string>(
  registry: Registry,
  labelNames: readonly L[],
): MetricFactory<L> {
  const registers = [registry];
  return {
    counter: (name, help) => new Counter({ name, help, labelNames, registers }),
    gauge: (name, help) => new Gauge({ name, help, labelNames, registers }),
    histogram: (name, help, buckets) => new Histogram({ name, help, labelNames, buckets, registers }),
  };
}
