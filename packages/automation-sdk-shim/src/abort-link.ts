/** A signal of its own that follows a longer-lived one, and lets go of it when done. */
export interface AbortLink {
  signal: AbortSignal;
  abort(): void;
  /** Unlinks from the parent (and stops the timeout): call it once the work is over. */
  release(): void;
}

/**
 * A controller aborted with `parent` (if any), after `timeoutMs` (if given), or by its own
 * abort(). Not AbortSignal.any: on Node 20 every signal it combines with a long-lived one (a
 * whole run's) stays referenced by that one, one per call, forever (nodejs/node#54614), and a
 * push or a log shipment happens thousands of times a day for months.
 */
export function followAbort(parent: AbortSignal | undefined, timeoutMs?: number): AbortLink {
  const controller = new AbortController();
  const follow = (): void => {
    controller.abort(parent?.reason);
  };
  if (parent?.aborted === true) follow();
  else parent?.addEventListener('abort', follow, { once: true });
  // Unref'd, as AbortSignal.timeout's: a pending timeout never keeps the process alive.
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          controller.abort(new DOMException('The operation timed out.', 'TimeoutError'));
        }, timeoutMs).unref();
  return {
    signal: controller.signal,
    abort: () => {
      controller.abort();
    },
    release: () => {
      parent?.removeEventListener('abort', follow);
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
