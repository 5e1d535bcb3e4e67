import { isIP } from 'node:net';
import type { StreamName } from '../streams';
import { FieldReader, type JsonObject } from './fields';
import { attachmentList, type FileRef } from './attachments';
import {
  addressList,
  assign,
  compact,
  direction,
  finishDocument,
  parseDeliveredTo,
  Related,
  stripAngleBrackets,
  urlHost,
  type EcsDocument,
} from './ecs';

export type MailTrackingStream = Exclude<StreamName, 'policy_events'>;

// Only the actions whose meaning for delivery is unambiguous get an outcome; "Quarantined" or
// "Redirected" are neither a success nor a failure of the delivery. A Map, not an object
// literal, so an action named "constructor" finds nothing.
const OUTCOMES: ReadonlyMap<string, 'success' | 'failure'> = new Map([
  ['Delivered', 'success'],
  ['Bounced', 'failure'],
  ['Expired', 'failure'],
  ['Temporary delivery error', 'failure'],
]);

/**
 * A mail-tracking record (accepted or blocked traffic) → ECS. The fields Sekoia's own
 * "Trend Micro Email Security" format produces come out identical (see the seed samples);
 * everything else is additional and documented in docs/ecs-mapping.md.
 */
export function normalizeMailTracking(
  record: JsonObject,
  stream: MailTrackingStream,
  message: string,
): EcsDocument {
  const fields = new FieldReader(record);
  const blocked = stream === 'blocked_traffic';
  const timestamp = fields.date('timestamp');
  const genTime = fields.date('genTime');
  const action = fields.string('action');
  const sender = fields.string('sender');
  const headerFrom = fields.string('headerFrom');
  const recipient = fields.string('recipient');
  const headerTo = fields.strings('headerTo');
  const senderIp = fields.string('senderIP');
  const deliveredTo = fields.string('deliveredTo');
  const destination = deliveredTo === undefined ? undefined : parseDeliveredTo(deliveredTo);
  const flow = direction(fields.string('direction'));
  const attachments = readAttachments(fields);
  const embeddedUrls = fields.strings('embeddedUrls');
  const messageId = fields.string('messageID');

  const related = new Related();
  related.addIp(senderIp);
  related.addIp(destination?.ip);
  related.addHost(destination?.domain);
  for (const url of embeddedUrls ?? []) related.addHost(urlHost(url));
  for (const { sha256 } of attachments ?? []) related.addHash(sha256);
  related.addUsers([sender, headerFrom, recipient].filter((v) => v !== undefined));
  related.addUsers(headerTo);

  const email = compact({
    attachments: attachmentList(attachments),
    delivery_timestamp: fields.date('deliveryTime'),
    direction: flow,
    from: headerFrom === undefined ? undefined : { address: headerFrom },
    local_id: fields.string('mailID'),
    message_id: messageId === undefined ? undefined : stripAngleBrackets(messageId),
    sender: sender === undefined ? undefined : { address: sender },
    subject: fields.string('subject'),
    // The header To list, plus this row's envelope recipient (a Bcc is in no header).
    to: addressList(headerTo, recipient),
  });

  const document: EcsDocument = {};
  const time = timestamp ?? genTime;
  if (time !== undefined) document['@timestamp'] = time;
  document.message = message;
  document.event = compact({
    kind: 'event',
    category: ['email'],
    type: blocked ? ['denied'] : ['info'],
    action: action ?? (blocked ? 'Blocked' : undefined),
    reason: fields.string('reason'),
    outcome: blocked ? 'failure' : action === undefined ? undefined : OUTCOMES.get(action),
    created: genTime,
    dataset: `trend_micro_email_security.${stream}`,
  });
  assign(document, 'email', email);
  assign(document, 'source', senderIp === undefined ? undefined : source(senderIp));
  assign(document, 'destination', destination);
  const details = fields.string('details');
  const tlsInfo = fields.string('tlsInfo');
  return finishDocument(document, {
    flow,
    related,
    trendmicroEmail: compact({
      embedded_urls: embeddedUrls,
      size: fields.count('size'),
      smtp_response: details,
      ...(tlsInfo === undefined ? {} : readTlsInfo(tlsInfo)),
    }),
    problems: fields.problems,
  });
}

function readAttachments(fields: FieldReader): FileRef[] | undefined {
  return fields.objects('attachments')?.map((item) => ({
    name: item.string('fileName'),
    sha256: item.string('sha256'),
  }));
}

/** source.ip only when it is an IP (an invalid ip field makes Elasticsearch reject the document). */
function source(senderIp: string): Record<string, string> {
  return isIP(senderIp) === 0 ? { address: senderIp } : { address: senderIp, ip: senderIp };
}

/**
 * `upstreamTLS: TLS 1.2; downstreamTLS: None`: upstream is the connection the message came in
 * on, downstream the one it left on. An unknown shape is kept whole.
 */
function readTlsInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(';')) {
    const colon = part.indexOf(':');
    if (colon === -1) continue;
    const key = part.slice(0, colon).trim();
    const value = part.slice(colon + 1).trim();
    if (value === '') continue;
    if (key === 'upstreamTLS') out.upstream_tls = value;
    else if (key === 'downstreamTLS') out.downstream_tls = value;
  }
  return out.upstream_tls === undefined && out.downstream_tls === undefined ? { tls_info: text } : out;
}
