/**
 * `@sekoia/automation-sdk-shim`: the runtime of a Sekoia.io automation module. Every public
 * name is listed here; anything else in src/ is internal and may change without notice. Test
 * doubles live in `@sekoia/automation-sdk-shim/testing` (src/testing/index.ts).
 */

// A module: the entry point that dispatches the platform's command to an item.
export { Module, type ItemFactory, type ModuleOptions, type Runnable } from './module';
// Items: the lifecycle (configuration, health, metrics, restarts, stop) and intake delivery.
export { Trigger, type TriggerOptions } from './trigger';
export { Connector, type ConnectorConfiguration, type ConnectorOptions } from './connector';
export type { PushResult } from './intake-ledger';
// The intake's per-event limit, for modules that shrink or split events before pushing them.
export { INTAKE_MAX_EVENT_BYTES } from './intake';
// Types of the items' members (`this.metrics`, `this.liveness`); the runtime builds them.
export type { ConnectorMetrics } from './metrics';
// Why public: a module's own metrics are built the way the runtime builds its (one registry).
export { metricFactory, type MetricFactory } from './metric-factory';
export { Liveness, type LivenessOptions, type LivenessReport } from './health';

// Settings and their validation.
export { ConfigLoader, type ConfigLoaderOptions, type ConfigType } from './config';
export {
  ConfigurationValidator,
  type ConfigurationSchema,
  type ConfigurationValidatorOptions,
} from './validation';

// Errors: the run loop decides by class (fatal, transient), never by message.
export {
  AuthenticationError,
  ConfigurationError,
  DeliveryError,
  InvariantError,
  ResponseError,
  SekoiaError,
  TransientError,
  describeError,
  isAbort,
  isFatal,
  type SekoiaErrorOptions,
} from './errors';
export { CheckpointCorruptError } from './storage/checkpoint-store';

// Logs.
export {
  Redactor,
  StdoutLogger,
  silentLogger,
  type LogFields,
  type LogLevel,
  type Logger,
  type StdoutLoggerOptions,
} from './logger';

// Checkpoints: `this.store`, or a store built from the settings.
export type { CheckpointStore, NamedObjects } from './storage/checkpoint-store';
export { createCheckpointStore } from './storage/create-store';

// Time as a collaborator. abortError is what a Sleep rejects with on abort: a module's own
// abortable waits throw it so that isAbort (and the stop handling) recognise them.
export { abortError, realSleep, systemClock, type Clock, type Sleep } from './time';

// Calling a third-party API: the client, and the retry rules the runtime applies to its own
// requests, so that a module's client classifies answers the same way.
export {
  NetworkFailure,
  createHttpClient,
  describeNetworkError,
  isRetryableNetworkError,
  type HttpClient,
  type HttpClientOptions,
  type NetworkFailureKind,
} from './http';
// One HTTP exchange: an answer or a failure turned into a retry decision and a safe typed
// error (SekoiaError.http: HttpFacts). Its request returns what an HttpClient call returns
// (an axios response): the same reason as HttpClient's, in src/http.ts.
export { exchange, malformed, parseJson, safeExcerpt, type ExchangeRules, type HttpAnswer } from './exchange';
export type { HttpFacts, HttpFailureKind } from './errors';
// Why excerpt is public: a module quoting an unexpected third-party body in an error message
// needs the same bound (one line, 200 characters) the runtime uses, never the whole body.
export { excerpt } from './http';
export {
  backoffDelay,
  failure,
  isRetryableStatus,
  parseRetryAfter,
  retry,
  retryable,
  success,
  type BackoffPolicy,
  type RetryDecision,
  type RetryOptions,
} from './retry';
// "Run forever with backoff", and the named policies a module's loops use (the runtime's own
// policies, for its restarts, pushes, secrets and logs, stay inside).
export { supervise, type FailureClass, type SuperviseEnd, type SuperviseOptions } from './supervise';
export { NO_RETRY, PAGE_RETRY, STREAM_RETRY } from './backoff-policies';
