/**
 * The bounded buffer that holds telemetry while a device is offline: a ring of at most `capacity`
 * messages; when it is full the oldest message is dropped and counted.
 */
import type { TelemetryMessage } from '../protocol/schemas.js';

/** @internal A drop-oldest ring buffer of telemetry messages. */
export class TelemetryBuffer {
  readonly #capacity: number;
  // Allocated on first use: a device that never goes offline pays nothing for it.
  #ring: (TelemetryMessage | undefined)[] | undefined;
  #head = 0;
  #size = 0;
  #dropped = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Messages held. */
  get size(): number {
    return this.#size;
  }

  /** Messages dropped because the buffer was full, since the agent started. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Adds a message; returns the message dropped to make room, if any. */
  push(message: TelemetryMessage): TelemetryMessage | undefined {
    if (this.#capacity === 0) {
      this.#dropped++;
      return message;
    }
    const ring = (this.#ring ??= new Array<TelemetryMessage | undefined>(this.#capacity));
    if (this.#size < this.#capacity) {
      ring[(this.#head + this.#size) % this.#capacity] = message;
      this.#size++;
      return undefined;
    }
    const oldest = ring[this.#head];
    ring[this.#head] = message;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#dropped++;
    return oldest;
  }

  /** Removes and returns the oldest message. */
  shift(): TelemetryMessage | undefined {
    if (this.#size === 0 || this.#ring === undefined) return undefined;
    const message = this.#ring[this.#head];
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    if (this.#size === 0) {
      this.#ring = undefined;
      this.#head = 0;
    }
    return message;
  }
}
