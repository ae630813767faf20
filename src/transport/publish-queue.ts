/**
 * The bounded FIFO of publishes waiting for the link (offline) or for an in-flight slot.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import type { OfflineQueueOptions, OverflowPolicy, QoS } from './types.js';

/** @internal One publish waiting to be sent. */
export interface QueuedPublish {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly resolve: () => void;
  readonly reject: (error: FleetError) => void;
}

/** Default {@link OfflineQueueOptions.maxMessages}. */
export const DEFAULT_QUEUE_MAX_MESSAGES = 1000;

/** @internal Resolves queue options, throwing early with the API's name. */
export function resolveQueueOptions(owner: string, options: unknown): { maxMessages: number; overflow: OverflowPolicy } {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new FleetError('INVALID_ARGUMENT', `${owner}: queue must be an object such as { maxMessages: 1000, overflow: 'reject' } (or omitted for the defaults), got ${describeValue(options)}`, { status: 400 });
  }
  const o: OfflineQueueOptions = options ?? {};
  const maxMessages = o.maxMessages ?? DEFAULT_QUEUE_MAX_MESSAGES;
  const overflow = o.overflow ?? 'reject';
  if (!Number.isInteger(maxMessages) || maxMessages < 0) {
    throw new FleetError('INVALID_ARGUMENT', `${owner}: queue.maxMessages must be an integer ≥ 0, got ${describeValue(maxMessages)}`, { status: 400 });
  }
  if (overflow !== 'reject' && overflow !== 'drop-oldest') {
    throw new FleetError('INVALID_ARGUMENT', `${owner}: queue.overflow must be "reject" or "drop-oldest", got ${describeValue(overflow)}`, { status: 400 });
  }
  return { maxMessages, overflow };
}

/** @internal A ring-free deque: an array with a moving head, compacted when half is dead. */
export class PublishQueue {
  #items: (QueuedPublish | undefined)[] = [];
  #head = 0;
  readonly maxMessages: number;
  readonly overflow: OverflowPolicy;

  constructor(maxMessages: number, overflow: OverflowPolicy) {
    this.maxMessages = maxMessages;
    this.overflow = overflow;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  peek(): QueuedPublish | undefined {
    return this.#items[this.#head];
  }

  shift(): QueuedPublish | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /**
   * Appends `item` under the overflow policy.
   *
   * @returns the evicted item (drop-oldest), or `undefined`
   * @throws FleetError `QUEUE_FULL` under the `reject` policy when full.
   */
  push(item: QueuedPublish): QueuedPublish | undefined {
    let evicted: QueuedPublish | undefined;
    if (this.length >= this.maxMessages) {
      if (this.overflow === 'reject' || this.maxMessages === 0) throw queueFull(this.maxMessages, item.topic, 'the new message was rejected');
      evicted = this.shift();
    }
    this.#items.push(item);
    return evicted;
  }

  /** Removes and returns everything. */
  drain(): QueuedPublish[] {
    const out = this.#items.slice(this.#head) as QueuedPublish[];
    this.#items = [];
    this.#head = 0;
    return out;
  }
}

/** @internal The QUEUE_FULL error. */
export function queueFull(maxMessages: number, topic: string, what: string): FleetError {
  return new FleetError('QUEUE_FULL', `The offline queue is full (${maxMessages} messages); ${what} (topic ${topic}). Raise queue.maxMessages, choose another overflow policy, or wait for the link`, {
    status: 503,
    details: { maxMessages, topic },
  });
}
