export { STREAMS, generateDataset } from './dataset';
export type { GenerateOptions, StreamName, TmesRecord } from './dataset';
export { EVENT_FILTERS, POLICY_EVENT_KINDS } from './dataset-vocabulary';
export { TmesSimulator } from './tmes-simulator';
export type {
  ExpiredTokenAnswer,
  FaultOptions,
  RateLimitOptions,
  RecordTimeline,
  RequestCounts,
  ScriptedResponse,
  SimulatorStats,
  TmesSimulatorOptions,
  VisibilityBucket,
  VisibilityOptions,
} from './tmes-simulator';
