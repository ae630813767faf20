/**
 * Per-thing lanes: the requests of one thing run one at a time, in arrival order, with a bound
 * on how many may wait.
 */

/** A unit of work in a lane. */
export type LaneTask = () => Promise<void>;

interface Lane {
  readonly tasks: LaneTask[];
  head: number;
}

/**
 * @internal Serialises work per key. `admit` refuses once `limit` tasks of a key are queued or
 * running; a lane disappears when it runs empty, so idle things cost nothing.
 */
export class ThingLanes {
  readonly #lanes = new Map<string, Lane>();
  readonly #limit: number;
  readonly #onError: (error: unknown) => void;
  #idle: (() => void)[] = [];

  constructor(limit: number, onError: (error: unknown) => void) {
    this.#limit = limit;
    this.#onError = onError;
  }

  /** Number of things with work queued or running. */
  get active(): number {
    return this.#lanes.size;
  }

  /** Queues `task` on `key`'s lane; false (nothing queued) when the lane is full. */
  admit(key: string, task: LaneTask): boolean {
    const lane = this.#lanes.get(key);
    if (lane === undefined) {
      const fresh: Lane = { tasks: [task], head: 0 };
      this.#lanes.set(key, fresh);
      void this.#drain(key, fresh);
      return true;
    }
    if (lane.tasks.length - lane.head >= this.#limit) return false;
    lane.tasks.push(task);
    return true;
  }

  /** Resolves once no lane has work. */
  idle(): Promise<void> {
    if (this.#lanes.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(key: string, lane: Lane): Promise<void> {
    // The running task stays in the lane until it finishes, so it counts toward the limit.
    while (lane.head < lane.tasks.length) {
      const task = lane.tasks[lane.head] as LaneTask;
      try {
        await task();
      } catch (error) {
        try {
          this.#onError(error);
        } catch {
          // An error listener that throws must not stop the lane.
        }
      }
      lane.tasks[lane.head++] = undefined as unknown as LaneTask;
      if (lane.head > 64 && lane.head * 2 > lane.tasks.length) {
        lane.tasks.splice(0, lane.head);
        lane.head = 0;
      }
    }
    this.#lanes.delete(key);
    if (this.#lanes.size === 0 && this.#idle.length > 0) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    }
  }
}
