import { describeError, type Logger } from '@sekoia/automation-sdk-shim';
import { fitSerialized, type FittedEvent } from './event-size';
import type { StreamMetrics } from './metrics';
import { jsonText, safeRecordForm } from './record-identity';
import type { StreamName } from './streams';

export interface RecordEncoderOptions {
  name: StreamName;
  /** What is forwarded for a record (its ECS document...); absent: the record itself (raw). */
  encode: ((record: unknown) => unknown) | undefined;
  metrics: StreamMetrics;
  logger: Logger;
}

/**
 * Turns a record into the event text forwarded to the intake, fitted to the intake's size
 * limit. A record it cannot process as it is still goes out, in a safe form, and is said.
 */
export class RecordEncoder {
  constructor(private readonly options: RecordEncoderOptions) {}

  /**
   * The event for a record. One the collector cannot process as it is (nested too deep, a
   * normaliser failure, `poison` from serialising it) goes out in a safe form (JSON data only,
   * depth-limited, deeper parts replaced by a marker) with an error log and a metric; the rest
   * of the batch goes on. Undefined: not even the safe form could be encoded (skipped, said).
   */
  encodeSafely(record: unknown, json: string | undefined, poison: unknown): string | undefined {
    if (poison === undefined) {
      try {
        return this.encode(record, json ?? serialize(record));
      } catch (error) {
        poison = error;
      }
    }
    const { logger, metrics, name } = this.options;
    metrics.unprocessable(name);
    const safe = safeRecordForm(record);
    let excerpt = '';
    try {
      excerpt = JSON.stringify(safe).slice(0, 200);
      // The safe form goes through the same encoding as any record: with output_format 'ecs'
      // the intake expects an ECS document, not the raw TMES JSON. Raw JSON only if that fails.
      const event = this.encodeOrRaw(safe);
      logger.log(
        'error',
        `${name}: a record could not be processed as it is (${describeError(poison)}); forwarded in a safe form, parts nested too deep replaced by a marker. Excerpt: ${excerpt}`,
        { stream: name },
      );
      return event;
    } catch (error) {
      logger.log(
        'error',
        `${name}: a record could not be processed (${describeError(poison)}; ${describeError(error)}); skipped. Excerpt: ${excerpt}`,
        { stream: name },
      );
      return undefined;
    }
  }

  /** Entries of `logs` that are not objects are still forwarded (nothing is dropped), but said. */
  warnAboutNonRecords(logs: readonly unknown[]): void {
    let odd = 0;
    for (const r of logs) if (typeof r !== 'object' || r === null || Array.isArray(r)) odd++;
    if (odd === 0) return;
    const kinds = [
      ...new Set(
        logs
          .filter((r) => typeof r !== 'object' || r === null || Array.isArray(r))
          .map((r) => (r === null ? 'null' : Array.isArray(r) ? 'array' : typeof r)),
      ),
    ];
    const { name } = this.options;
    this.options.logger.log(
      'warning',
      `${name}: the API returned ${odd} log entr${odd === 1 ? 'y' : 'ies'} that are not JSON objects (${kinds.join(', ')}); forwarded as they are.`,
      { stream: name },
    );
  }

  private encodeOrRaw(safe: unknown): string {
    try {
      return this.encode(safe, serialize(safe));
    } catch {
      return JSON.stringify(safe);
    }
  }

  /** The event's text: the record's own (raw, already serialised) or its encoded form's. */
  private encode(record: unknown, json: string): string {
    const { encode, name } = this.options;
    let fitted: FittedEvent;
    if (encode === undefined) fitted = fitSerialized(json, record);
    else {
      const document = encode(record);
      fitted = fitSerialized(serialize(document), document);
    }
    if (fitted.truncated.length > 0) {
      this.options.metrics.truncated(name, 1);
      this.options.logger.log(
        'warning',
        `${name}: a record over the intake's 250 kB limit was forwarded with these fields cut: ${fitted.truncated.join(', ')}.`,
        { stream: name },
      );
    }
    return fitted.json;
  }
}

/** JSON text of an encoded record (an ECS document: plain data). */
function serialize(value: unknown): string {
  return jsonText(value) ?? 'null';
}
