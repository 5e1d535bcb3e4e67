/**
 * `@sekoia/automation-sdk-shim/testing`: test doubles and loopback servers for testing a module
 * built on the runtime without the platform. Nothing here is needed to run a module; a demo may
 * use the stand-ins to run without a tenant or an intake.
 */

export { ManualClock } from './manual-clock';
export { MemoryLogger, type LogEntry } from './memory-logger';
export { MemoryCheckpointStore, MemoryNamedObjects } from './memory-store';
export {
  IntakeStandIn,
  type IntakeStandInOptions,
  type StandInResponse,
  type StandInWhen,
} from './intake-stand-in';
// Why exported here: tests that stand up their own third-party API on 127.0.0.1 need the same
// bind-to-an-ephemeral-port and close-every-connection rules the runtime's servers follow
// (a server closed with close() alone keeps a hanging request, and the test process, alive).
export { closeHttp, listenHttp } from '../http';
