/**
 * Journal writes and compactions, one at a time: reads side by side deliver concurrently, and
 * a compaction snapshots the ledger. Identities added to it must be journaled before or inside
 * the snapshot, never after it (loading would count them twice).
 */
export class JournalTurns {
  private last: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it (whether those succeeded or failed). */
  run<T>(task: () => Promise<T>): Promise<T> {
    const turn = this.last.then(task, task);
    this.last = turn.catch(() => undefined);
    return turn;
  }
}
