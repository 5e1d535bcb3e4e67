import { ResponseError } from '@sekoia/automation-sdk-shim';
import type { WindowPage } from './window-page';

/** What one page request got back, once transient failures were retried. */
export type PageAnswer =
  /** A page: its records (maybe none) and the token of the next one, if any. */
  | {
      readonly kind: 'page';
      readonly logs: unknown[];
      readonly nextToken: string | undefined;
      /** Digest of the page's body: the same token with the same page is a loop, not a handle. */
      readonly digest: string;
      readonly sentAt: number;
    }
  /** 204, an empty body, or no logs and no token: nothing more to read. */
  | { readonly kind: 'end'; readonly sentAt: number }
  /** A request carrying a token was refused (400, 401, 403): the token is no good any more. */
  | { readonly kind: 'refused'; readonly status: number; readonly detail: string; readonly sentAt: number };

export interface TokenPolicy {
  /**
   * A token sent this long after it arrived (the consumer paused the read to forward a batch)
   * may have expired: an empty answer to it then restarts the read instead of ending it.
   */
  pauseThresholdMs: number;
  /**
   * A token held longer than this is not sent at all: the read restarts from the window's start.
   * Held: on the read's TokenHoldClock, which does not run while the read waits for the API's
   * permission to send (a permit, a Retry-After).
   */
  maxTokenHoldMs: number;
  /** Restarts in a row that get no further than an earlier read of the window, before giving up. */
  maxRestartsWithoutProgress: number;
  /** Empty pages carrying a token, in a row, before the read is taken for a loop. */
  maxEmptyPagesInARow: number;
  /**
   * Further reads that must stop at the same page before "nothing more" in answer to a token is
   * the window's end. Two: one read can coincide with an expiry nobody saw; two in a row rarely.
   */
  endConfirmations: number;
}

export const DEFAULT_TOKEN_POLICY: TokenPolicy = {
  pauseThresholdMs: 2_000,
  maxTokenHoldMs: 30_000,
  maxRestartsWithoutProgress: 5,
  maxEmptyPagesInARow: 100,
  endConfirmations: 2,
};

/** What to do after an answer: a page to hand over (maybe), and whether the read is over. */
export interface ReadStep {
  readonly page: WindowPage | undefined;
  readonly done: boolean;
  /** Why the read restarts from the window's start, when it does (for the log). */
  readonly restarted: string | undefined;
}

/**
 * The state of reading one window page by page, as Trend Micro documents it ("repeat until the
 * nextToken parameter is not returned") and as a token that expired, or a server-side cursor
 * handle, make it behave.
 *
 * - An empty page with a token goes on.
 * - A token is never held across a long pause: the read restarts from the window's start
 *   instead; a token refused, or answered with nothing after a pause, restarts it too. The
 *   consumer's dedup drops what it already delivered; `restart: true` on the next page tells it.
 * - The same token on every page is fine (a handle) as long as the pages differ; the same token
 *   with the same page again is a loop.
 * - Progress: a read that gets through more pages than every earlier read of the window. Too
 *   many restarts without progress is a ResponseError (transient: the window is read again
 *   later, with backoff).
 */
export class WindowRead {
  private token: string | undefined;
  /** When the token arrived, on the caller's clock (what an empty answer to it is measured by). */
  private tokenAt = 0;
  /** When the token arrived, on the hold clock (what maxTokenHoldMs is measured by). */
  private heldFrom = 0;
  /** Pages read so far in this read, and the most any read of this window got through. */
  private pages = 0;
  private furthest = 0;
  private restartsWithoutProgress = 0;
  private restartPending = false;
  private emptyRun = 0;
  /**
   * Pages read when an earlier read of this window got "nothing more" in answer to a token:
   * the end it claimed, waiting for a second read to confirm it.
   */
  private unconfirmedEnd: number | undefined;
  /** Reads in a row, after the first, that ended with "nothing more" at that same page. */
  private endsAtSamePage = 0;
  /** `token digest` of the pages of this read that handed a token out. */
  private readonly seen = new Set<string>();

  constructor(
    private readonly label: string,
    private readonly policy: TokenPolicy,
    private readonly maxPages: number,
  ) {}

  /**
   * The token to send next (undefined for the first page). A token held too long is dropped
   * here and the read restarts: `restarted` says why. `holdNow`: the hold clock's time, which
   * does not run while the read waits for permission to send (see TokenHoldClock).
   */
  nextToken(holdNow: number): { token: string | undefined; restarted: string | undefined } {
    if (this.token === undefined) return { token: undefined, restarted: undefined };
    const held = holdNow - this.heldFrom;
    if (held <= this.policy.maxTokenHoldMs) return { token: this.token, restarted: undefined };
    const reason = `the page token was held ${seconds(held)} s while records were forwarded (longer than ${seconds(this.policy.maxTokenHoldMs)} s)`;
    this.restart(reason);
    return { token: undefined, restarted: reason };
  }

  /**
   * Folds in the answer to the request sent with `nextToken()`'s token, received at `now` (the
   * clock the answer's sentAt is on) and `holdNow` on the hold clock (default: the same).
   */
  accept(answer: PageAnswer, now: number, holdNow = now): ReadStep {
    const sentWith = this.token;
    if (answer.kind === 'refused') {
      return this.restartStep(`a page token was refused (HTTP ${answer.status}${answer.detail})`);
    }
    if (answer.kind === 'end') return this.endStep(sentWith, answer.sentAt);
    return this.pageStep(answer, now, holdNow);
  }

  private pageStep(answer: Extract<PageAnswer, { kind: 'page' }>, now: number, holdNow: number): ReadStep {
    const { logs, nextToken, digest } = answer;
    const key = `${nextToken ?? ''} ${digest}`;
    // Empty pages say nothing about a loop: a handle token ("still searching") may hand out the
    // same empty page several times. A run of them is bounded on its own instead.
    this.emptyRun = logs.length === 0 ? this.emptyRun + 1 : 0;
    if (this.emptyRun > this.policy.maxEmptyPagesInARow) {
      throw new ResponseError(
        `${this.label}: the API returned more than ${this.policy.maxEmptyPagesInARow} empty pages in a row, each with a nextToken; the window will be read again.`,
      );
    }
    if (nextToken !== undefined && logs.length > 0 && this.seen.has(key)) {
      throw new ResponseError(
        `${this.label}: the API returned a nextToken it had already returned, with the same page (a token loop); the window will be read again.`,
      );
    }
    this.pages++;
    if (this.pages > this.furthest) {
      this.furthest = this.pages;
      this.restartsWithoutProgress = 0;
    }
    const page = this.takeRestart(logs);
    if (nextToken === undefined) return { page, done: true, restarted: undefined };
    if (this.pages >= this.maxPages) {
      throw new ResponseError(
        `${this.label}: more than ${this.maxPages} pages in one window; the window will be read again.`,
      );
    }
    if (logs.length > 0) this.seen.add(key);
    this.token = nextToken;
    this.tokenAt = now;
    this.heldFrom = holdNow;
    return { page, done: false, restarted: undefined };
  }

  /** The page to hand over: always the first one after a restart (even empty), else non-empty ones. */
  private takeRestart(logs: unknown[]): WindowPage | undefined {
    const restart = this.restartPending;
    this.restartPending = false;
    return restart || logs.length > 0 ? { logs, restart } : undefined;
  }

  /**
   * "Nothing more" (204, an empty body, no logs and no token). Without a token it is the end.
   * In answer to a token it is ambiguous: the end of a window whose last page was exactly full,
   * or a token that expired — after a pause we can see, or for reasons we cannot (the token's
   * life is undocumented; the server's clock is not ours). Taking an expiry for the end loses the
   * rest of the window silently, so such an end counts only once `endConfirmations` more reads
   * from the window's start stop at the same page; a read that stops elsewhere starts over.
   */
  private endStep(sentWith: string | undefined, sentAt: number): ReadStep {
    const sameEnd = this.unconfirmedEnd === this.pages;
    this.endsAtSamePage = sameEnd ? this.endsAtSamePage + 1 : 0;
    if (sentWith === undefined || this.endsAtSamePage >= this.policy.endConfirmations) {
      this.unconfirmedEnd = undefined;
      this.endsAtSamePage = 0;
      return { page: this.takeRestart([]), done: true, restarted: undefined };
    }
    // Real time here, waits for a permit included: this only words why the read restarts (it
    // restarts either way), and a token that waited long may well have expired meanwhile.
    const held = sentAt - this.tokenAt;
    this.unconfirmedEnd = this.pages;
    const why =
      held > this.policy.pauseThresholdMs
        ? `a page token sent ${seconds(held)} s after it arrived was answered with no logs (it may have expired)`
        : `a page token was answered with no logs; reading the window again to confirm its end (a token may expire unseen)`;
    return this.restartStep(why);
  }

  private restartStep(reason: string): ReadStep {
    this.restart(reason);
    return { page: undefined, done: false, restarted: reason };
  }

  private restart(reason: string): void {
    this.restartsWithoutProgress++;
    if (this.restartsWithoutProgress > this.policy.maxRestartsWithoutProgress) {
      throw new ResponseError(
        `${this.label}: the read was restarted ${this.restartsWithoutProgress} times in a row without getting past page ${this.furthest + 1} (last: ${reason}); the window will be read again later.`,
      );
    }
    this.token = undefined;
    this.pages = 0;
    this.emptyRun = 0;
    this.seen.clear();
    this.restartPending = true;
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}
