import { parseServiceUrl } from './service-url';
import type { StreamName } from './streams';

/** The trigger form, as validated against `arguments` in trigger_fetch_new_logs.json (defaults applied). */
export interface FetchNewLogsConfiguration {
  service_url: string;
  username: string;
  api_key: string;
  intake_key: string;
  intake_server?: string;
  log_types: StreamName[];
  frequency: number;
  batch_size: number;
  start_time: number;
  timedelta: number;
  late_window?: number;
  max_parallel_requests?: number;
  output_format: 'raw' | 'ecs';
}

/** What the collector works with: units resolved, URL normalised. */
export interface CollectorSettings {
  readonly baseUrl: string;
  readonly username: string;
  readonly apiKey: string;
  readonly streams: readonly StreamName[];
  /** Pause between polls once a stream has caught up. */
  readonly frequencyMs: number;
  /** Records per API page (the API's `limit`). */
  readonly pageSize: number;
  /** How far back the first run starts. */
  readonly firstRunLookbackMs: number;
  /** How far behind now a window ends, so late-indexed logs are not skipped. */
  readonly delayMs: number;
  /** How late a log may become visible in the API and still be collected (0: no re-reads). */
  readonly lateWindowMs: number;
  readonly outputFormat: 'raw' | 'ecs';
  /** Most windows (hence page requests) one stream reads at once while catching up. */
  readonly maxParallelRequests?: number;
}

/** max_parallel_requests when absent (configurations written before the setting existed). */
export const DEFAULT_MAX_PARALLEL_REQUESTS = 4;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export function toCollectorSettings(config: FetchNewLogsConfiguration): {
  settings: CollectorSettings;
  warnings: string[];
} {
  const serviceUrl = parseServiceUrl(config.service_url);
  const settings: CollectorSettings = {
    baseUrl: serviceUrl.baseUrl,
    username: config.username.trim(),
    apiKey: config.api_key.trim(),
    streams: [...new Set(config.log_types)],
    frequencyMs: config.frequency * SECOND,
    pageSize: config.batch_size,
    firstRunLookbackMs: config.start_time * HOUR,
    delayMs: config.timedelta * MINUTE,
    // Absent in configurations written before the setting existed: its default.
    lateWindowMs: (config.late_window ?? 30) * MINUTE,
    outputFormat: config.output_format,
    maxParallelRequests: config.max_parallel_requests ?? DEFAULT_MAX_PARALLEL_REQUESTS,
  };
  return { settings, warnings: serviceUrl.warning === undefined ? [] : [serviceUrl.warning] };
}
