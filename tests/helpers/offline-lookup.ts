import { lookup as systemLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';

/**
 * A host name resolver for tests that never asks a DNS server. Names under `.invalid` fail with
 * ENOTFOUND, as RFC 6761 says they always do, without a query: the system resolver sends one
 * (it cannot know), and a lookup still pending when a test ends cannot be cancelled, so a slow
 * resolver kept the whole in-band jest process alive after its last test. Loopback names go to
 * the system resolver, which answers them from /etc/hosts; any other name is refused (ENOTFOUND)
 * so a test never reaches outside the machine by mistake.
 */
export const offlineLookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === 'localhost' || /^(127\.\d+\.\d+\.\d+|::1)$/.test(hostname)) {
    systemLookup(hostname, options, callback);
    return;
  }
  const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    errno: -3008,
    syscall: 'getaddrinfo',
    hostname,
  });
  process.nextTick(() => {
    callback(error, '', 0);
  });
};
