import { prefetch } from '../../trigger_fetch_new_logs/prefetch';
import { ReadAheadSlots } from '../../trigger_fetch_new_logs/read-ahead';

/** A source whose items the test hands out one request at a time. */
class ManualSource implements AsyncIterable<number> {
  /** Requests (next calls) received so far, answered or not. */
  asked = 0;
  closed = false;
  private readonly waiting: {
    resolve: (r: IteratorResult<number>) => void;
    reject: (e: unknown) => void;
  }[] = [];

  [Symbol.asyncIterator](): AsyncIterator<number> {
    return {
      next: () => {
        this.asked++;
        return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
      },
      return: () => {
        this.closed = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** Answers the oldest request with `value` (or the end). */
  answer(value: number | undefined): void {
    const request = this.waiting.shift();
    if (request === undefined) throw new Error('no request to answer');
    request.resolve(value === undefined ? { done: true, value: undefined } : { done: false, value });
  }

  fail(error: Error): void {
    this.waiting.shift()?.reject(error);
  }
}

/** Lets every pending promise callback run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('prefetch', () => {
  it('asks for the next item as soon as one arrives, before the consumer is done with it', async () => {
    const source = new ManualSource();
    const items = prefetch(source);
    const first = items.next();
    source.answer(1);
    await expect(first).resolves.toEqual({ done: false, value: { value: 1, waited: true } });
    expect(source.asked).toBe(2);
    source.answer(2);
    await turn();
    // Already there when asked for: the consumer did not wait.
    await expect(items.next()).resolves.toEqual({ done: false, value: { value: 2, waited: false } });
    source.answer(undefined);
    await expect(items.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('reads ahead only while a slot of the shared bound is free, and gives it back when the item is taken', async () => {
    const slots = new ReadAheadSlots(1);
    const a = new ManualSource();
    const b = new ManualSource();
    const readA = prefetch(a, slots);
    const readB = prefetch(b, slots);
    const firstA = readA.next();
    a.answer(1);
    await firstA;
    // A took the only slot: its next item is requested now.
    expect(a.asked).toBe(2);
    expect(slots.inUse).toBe(1);
    const firstB = readB.next();
    b.answer(10);
    await expect(firstB).resolves.toEqual({ done: false, value: { value: 10, waited: true } });
    // No slot left: B asks for its next item only when its consumer does.
    expect(b.asked).toBe(1);
    const secondB = readB.next();
    expect(b.asked).toBe(2);
    b.answer(11);
    // Its consumer waited for it, but that says nothing of the API's latency (it was asked for
    // late on purpose): not told as a wait, or a busy process would look latency-bound.
    await expect(secondB).resolves.toEqual({ done: false, value: { value: 11, waited: false } });
    // A's consumer takes the item read ahead: the slot is free again, and A takes it for its next.
    a.answer(2);
    await turn();
    await expect(readA.next()).resolves.toEqual({ done: false, value: { value: 2, waited: false } });
    expect(a.asked).toBe(3);
    expect(slots.inUse).toBe(1);
    a.answer(undefined);
    await expect(readA.next()).resolves.toEqual({ done: true, value: undefined });
    expect(slots.inUse).toBe(0);
    // Now B gets the slot after its next item.
    const thirdB = readB.next();
    b.answer(12);
    await thirdB;
    expect(b.asked).toBe(4);
    expect(slots.inUse).toBe(1);
  });

  it('reads ahead without a slot while the source is the slower one (its last item read ahead was waited for)', async () => {
    const slots = new ReadAheadSlots(1);
    const source = new ManualSource();
    const items = prefetch(source, slots);
    const first = items.next();
    source.answer(1);
    await first;
    expect(slots.inUse).toBe(1);
    // The consumer asks before the item read ahead is there: it waits on the source.
    const second = items.next();
    source.answer(2);
    await expect(second).resolves.toEqual({ done: false, value: { value: 2, waited: true } });
    // So the next one is read ahead, and no parsed item will wait for it: no slot taken.
    expect(source.asked).toBe(3);
    expect(slots.inUse).toBe(0);
    // This time it is there before the consumer asks: back to reading ahead with slots only.
    source.answer(3);
    await turn();
    await expect(items.next()).resolves.toEqual({ done: false, value: { value: 3, waited: false } });
    expect(source.asked).toBe(4);
    expect(slots.inUse).toBe(1);
    const other = slots.tryTake();
    expect(other).toBeUndefined();
  });

  it('with no slot at all reads nothing ahead, and still hands every item over in order', async () => {
    const slots = new ReadAheadSlots(0);
    const source = new ManualSource();
    const items = prefetch(source, slots);
    const seen: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const next = items.next();
      source.answer(i);
      const result = await next;
      // Nothing requested beyond the item handed over.
      expect(source.asked).toBe(i);
      if (result.done !== true) seen.push(result.value.value);
    }
    const end = items.next();
    source.answer(undefined);
    await expect(end).resolves.toEqual({ done: true, value: undefined });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('gives the slot back and closes the source once the item read ahead settles, when the consumer stops early', async () => {
    const slots = new ReadAheadSlots(1);
    const source = new ManualSource();
    const items = prefetch(source, slots);
    const first = items.next();
    source.answer(1);
    await first;
    expect(slots.inUse).toBe(1);
    await items.return(undefined);
    // The page read ahead is still on its way: the slot is held until it arrives.
    expect(slots.inUse).toBe(1);
    expect(source.closed).toBe(false);
    source.answer(2);
    await turn();
    expect(slots.inUse).toBe(0);
    expect(source.closed).toBe(true);
  });

  it('gives the slot back when the item read ahead fails; the failure surfaces at the next item', async () => {
    const slots = new ReadAheadSlots(1);
    const source = new ManualSource();
    const items = prefetch(source, slots);
    const first = items.next();
    source.answer(1);
    await first;
    expect(slots.inUse).toBe(1);
    source.fail(new Error('page 2 failed'));
    await turn();
    await expect(items.next()).rejects.toThrow('page 2 failed');
    await turn();
    expect(slots.inUse).toBe(0);
    expect(source.closed).toBe(true);
  });

  it('refuses a bound that is not a whole number of slots', () => {
    expect(() => new ReadAheadSlots(-1)).toThrow(RangeError);
    expect(() => new ReadAheadSlots(1.5)).toThrow('read-ahead slots must be a whole number ≥ 0 (got 1.5)');
  });
});
