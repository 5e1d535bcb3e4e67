import { basename, relative, sep } from 'node:path';
import type { StreamTotals } from '../trigger_fetch_new_logs/metrics';
import type { StreamName } from '../trigger_fetch_new_logs/streams';
import { PROGRAM } from './command';
import type { DemoDataset } from './demo-tenant';
import type { StreamCheck } from './demo-verify';
import { count, duration, table } from './format';

export interface StreamReport {
  readonly collected: number;
  readonly forwarded: number;
  /** Re-reads at window edges dropped by dedup. */
  readonly duplicates: number;
  readonly pages: number;
  /** The final checkpoint cursor (ISO), or null when the stream never completed a window. */
  readonly cursor: string | null;
  readonly output: StreamCheck;
}

/** Everything the demo measured; written as out/summary.json and printed as text. */
export interface DemoReport {
  readonly startedAt: string;
  readonly durationMs: number;
  /** When every stream had caught up with the backlog, or null if it never did. */
  readonly caughtUpAfterMs: number | null;
  readonly forwardedWhenCaughtUp: number;
  readonly stoppedBecause: string;
  readonly options: { records: number; liveSeconds: number; latencyMs: number; faults: boolean };
  /** The generator options, so anyone can rebuild the exact records the tenant held. */
  readonly dataset: DemoDataset;
  /** Answers of the simulated API by HTTP status, and connections it dropped on purpose. */
  readonly api: { requests: number; statuses: Record<string, number>; dropped: number };
  readonly streams: Record<StreamName, StreamReport>;
  readonly outDir: string;
  readonly files: Record<StreamName, { raw: string; ecs: string }>;
  readonly logFile: string;
  /** Output complete up to every cursor, nothing twice, counts equal to what was forwarded. */
  readonly verified: boolean;
}

export function totalsReport(totals: StreamTotals | undefined): Omit<StreamReport, 'cursor' | 'output'> {
  return {
    collected: totals?.collected ?? 0,
    forwarded: totals?.forwarded ?? 0,
    duplicates: totals?.duplicates ?? 0,
    pages: totals?.pages ?? 0,
  };
}

export function isVerified(streams: Readonly<Record<string, StreamReport>>): boolean {
  return Object.values(streams).every(
    ({ forwarded, output: o }) =>
      o.missing === 0 &&
      o.duplicates === 0 &&
      o.unknown === 0 &&
      o.lines === forwarded &&
      o.ecsLines === o.lines,
  );
}

/** The human summary: per stream figures, throughput, the self-check, where things are, what next. */
export function renderSummary(report: DemoReport, cwd: string): string {
  const names = Object.keys(report.streams) as StreamName[];
  const sum = (pick: (s: StreamReport) => number): number =>
    names.reduce((n, name) => n + pick(report.streams[name]), 0);
  const rows = [
    ['stream', 'collected', 'forwarded', 're-reads dropped', 'pages', 'in output'],
    ...names.map((name) => {
      const s = report.streams[name];
      return [
        name,
        count(s.collected),
        count(s.forwarded),
        count(s.duplicates),
        count(s.pages),
        count(s.output.lines),
      ];
    }),
    [
      'total',
      count(sum((s) => s.collected)),
      count(sum((s) => s.forwarded)),
      count(sum((s) => s.duplicates)),
      count(sum((s) => s.pages)),
      count(sum((s) => s.output.lines)),
    ],
  ];
  const forwarded = sum((s) => s.forwarded);
  const lines = [
    '',
    `Summary: ${report.stoppedBecause}; ran ${duration(report.durationMs)}.`,
    ...table(rows).map((row) => `  ${row}`),
    '',
    throughput(report, forwarded),
    faultsLine(report),
    checkLine(report, names),
    `Output:  ${display(cwd, report.outDir)}: <stream>.ndjson (the raw records the intake received),` +
      ` <stream>.ecs.ndjson (the same as ECS), summary.json, ${basename(report.logFile)} (the trigger's log)`,
    `Next:    on your tenant, copy config.example.json to config.json, fill it in, then:`,
    `         ${PROGRAM} check --config config.json && ${PROGRAM} run --config config.json`,
    '',
  ];
  return lines.filter((line) => line !== undefined).join('\n');
}

function throughput(report: DemoReport, forwarded: number): string {
  const overall = `${count(forwarded / Math.max(0.001, report.durationMs / 1000))} records/s overall`;
  if (report.caughtUpAfterMs === null) return `Rate:    ${overall}; the backlog was not caught up.`;
  const catchUp = report.forwardedWhenCaughtUp / Math.max(0.001, report.caughtUpAfterMs / 1000);
  return (
    `Rate:    caught up with the 2-hour backlog (${count(report.forwardedWhenCaughtUp)} records) in ` +
    `${duration(report.caughtUpAfterMs)}: ${count(catchUp)} records/s; ${overall}.`
  );
}

function faultsLine(report: DemoReport): string | undefined {
  if (!report.options.faults) return undefined;
  const failed = Object.entries(report.api.statuses)
    .filter(([status]) => status === '429' || status.startsWith('5'))
    .map(([status, n]) => `${count(n)} × HTTP ${status}`);
  const dropped = report.api.dropped > 0 ? [`${count(report.api.dropped)} dropped connections`] : [];
  const all = [...failed, ...dropped];
  return `Faults:  ${all.length === 0 ? 'none drawn' : all.join(', ')} in ${count(report.api.requests)} API requests, retried.`;
}

function checkLine(report: DemoReport, names: readonly StreamName[]): string {
  const expected = names.reduce((n, name) => n + report.streams[name].output.expected, 0);
  if (report.verified) {
    return (
      `Check:   OK. Every record the API made visible up to each stream's final cursor is in the output ` +
      `(${count(expected)}), none twice, and the files hold exactly what was forwarded.`
    );
  }
  const problems = names.flatMap((name) => {
    const { forwarded, output: o } = report.streams[name];
    return [
      o.missing > 0 ? `${name}: ${count(o.missing)} missing` : undefined,
      o.duplicates > 0 ? `${name}: ${count(o.duplicates)} twice` : undefined,
      o.unknown > 0 ? `${name}: ${count(o.unknown)} unknown records` : undefined,
      o.lines !== forwarded
        ? `${name}: ${count(o.lines)} lines for ${count(forwarded)} forwarded`
        : undefined,
      o.ecsLines !== o.lines
        ? `${name}: ${count(o.ecsLines)} ECS lines for ${count(o.lines)} records`
        : undefined,
    ].filter((p): p is string => p !== undefined);
  });
  return `Check:   FAILED. ${problems.join('; ')}.`;
}

/** A path relative to the working directory when it is inside it. */
function display(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') || rel.startsWith(sep) ? path : `.${sep}${rel}`;
}
