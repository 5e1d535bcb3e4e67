import { isStreamName, type StreamName } from '../streams';
import { describeType, FieldReader, isObject, type JsonObject } from './fields';
import { rawMessage, type EcsDocument } from './ecs';
import { normalizeMailTracking } from './mail-tracking';
import { normalizePolicyEvent } from './policy-event';

export type { EcsDocument } from './ecs';

/**
 * One TMES record → one ECS document. Pure and total: the same function serves the trigger,
 * the `normalize` command and the tests, and it never throws. Input that is not a record still
 * yields a document (`event.kind: pipeline_error`, the value in `message`, the problem in
 * `error.message`), so a bad record is visible downstream instead of lost.
 *
 * @param stream where the record came from; inferred from its fields when absent.
 */
export function normalize(record: unknown, stream?: StreamName): EcsDocument {
  const message = rawMessage(record);
  // Callers in plain JS could pass anything: an unknown stream is inferred like a missing one.
  const known = isStreamName(stream) ? stream : undefined;
  if (!isObject(record)) {
    return pipelineError(
      message,
      known,
      `Expected a TMES record (a JSON object), got ${describeType(record)}`,
    );
  }
  try {
    const source = known ?? inferStream(record);
    return source === 'policy_events'
      ? normalizePolicyEvent(record, message)
      : normalizeMailTracking(record, source, message);
  } catch (error) {
    // Unreachable for parsed JSON; kept so an exotic object (a throwing getter) cannot stop a batch.
    return pipelineError(message, known, `Could not normalise the record: ${describeError(error)}`);
  }
}

/** Policy events carry eventType/policyName; blocked traffic has a reason instead of an action. */
export function inferStream(record: JsonObject): StreamName {
  const fields = new FieldReader(record);
  if (fields.has('eventType') || fields.has('policyName')) return 'policy_events';
  if (fields.has('reason') && !fields.has('action')) return 'blocked_traffic';
  return 'accepted_traffic';
}

function pipelineError(message: string, stream: StreamName | undefined, problem: string): EcsDocument {
  const event: Record<string, unknown> = { kind: 'pipeline_error' };
  if (stream !== undefined) event.dataset = `trend_micro_email_security.${stream}`;
  return { message, event, error: { message: `${problem}. The value is kept in "message".` } };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : describeType(error);
}
