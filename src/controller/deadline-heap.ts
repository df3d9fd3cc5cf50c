/** One delayed key in a {@link DeadlineHeap}. */
export interface Delayed {
  key: string;
  deadline: number;
  /** Insertion order, so that keys with the same deadline come due in the order they were added. */
  seq: number;
  index: number;
}

/**
 * A binary min-heap of delayed keys by deadline, with one entry per key, so that 10,000 delayed
 * keys cost one timer (armed for the top) and O(log n) per change.
 */
export class DeadlineHeap {
  readonly #items: Delayed[] = [];
  readonly #byKey = new Map<string, Delayed>();

  get size(): number {
    return this.#items.length;
  }

  peek(): Delayed | undefined {
    return this.#items[0];
  }

  get(key: string): Delayed | undefined {
    return this.#byKey.get(key);
  }

  push(key: string, deadline: number, seq: number): void {
    const entry: Delayed = { key, deadline, seq, index: this.#items.length };
    this.#items.push(entry);
    this.#byKey.set(key, entry);
    this.#up(entry.index);
  }

  /** Moves `entry` to an earlier deadline. */
  decrease(entry: Delayed, deadline: number): void {
    entry.deadline = deadline;
    this.#up(entry.index);
  }

  pop(): Delayed | undefined {
    const top = this.#items[0];
    if (top === undefined) return undefined;
    const last = this.#items.pop() as Delayed;
    if (last !== top) {
      last.index = 0;
      this.#items[0] = last;
      this.#down(0);
    }
    this.#byKey.delete(top.key);
    return top;
  }

  clear(): void {
    this.#items.length = 0;
    this.#byKey.clear();
  }

  #before(a: Delayed, b: Delayed): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const a = this.#items[i] as Delayed;
    const b = this.#items[j] as Delayed;
    this.#items[i] = b;
    this.#items[j] = a;
    b.index = i;
    a.index = j;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(this.#items[i] as Delayed, this.#items[parent] as Delayed)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && this.#before(this.#items[left] as Delayed, this.#items[least] as Delayed)) least = left;
      if (right < n && this.#before(this.#items[right] as Delayed, this.#items[least] as Delayed))
        least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }
}
