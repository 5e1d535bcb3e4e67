/**
 * Malformed variants of records: what a collector and a normaliser must survive without
 * crashing or dropping the rest of the page. genTime always stays valid, because the server
 * (and a real API) must still be able to filter on it.
 */
import type { StreamName, TmesRecord } from './dataset';

type Variant = (record: TmesRecord) => TmesRecord;

function without(record: TmesRecord, key: string): TmesRecord {
  const { [key]: _missing, ...rest } = record;
  return rest;
}

const MAIL_TRACKING_VARIANTS: readonly Variant[] = [
  (r) => ({ ...r, size: 'big' }),
  (r) => ({ ...r, headerTo: 'x@y' }),
  (r) => ({ ...r, attachments: {} }),
  (r) => ({ ...r, attachments: [null] }),
  (r) => ({ ...r, recipient: null }),
  (r) => ({ ...without(r, 'timestamp'), mailID: null }),
  (r) => ({ ...r, subject: 12345, senderIP: 3232235777 }),
  (r) => ({ ...r, deliveryTime: 'not a date', embeddedUrls: [42, null] }),
];

const POLICY_EVENT_VARIANTS: readonly Variant[] = [
  (r) => ({ ...r, details: '{not json' }),
  (r) => ({ ...r, recipients: 'x@y' }),
  (r) => ({ ...r, size: 'big' }),
  (r) => ({ ...without(r, 'timestamp'), messageID: null }),
  (r) => ({ ...r, headerTo: null, eventSubtype: 7 }),
  (r) => ({ ...r, details: { threatNames: ['not', 'a', 'string'] } }),
];

/** The `pick`-th (any integer) malformed variant of `record`, a new object. */
export function malformedVariant(stream: StreamName, record: TmesRecord, pick: number): TmesRecord {
  const variants = stream === 'policy_events' ? POLICY_EVENT_VARIANTS : MAIL_TRACKING_VARIANTS;
  const variant = variants[Math.abs(pick) % variants.length] ?? variants[0];
  return variant === undefined ? record : variant(record);
}
