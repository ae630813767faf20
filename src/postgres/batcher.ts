/**
 * @internal Natural batching of store calls: calls that arrive while earlier batches are in
 * flight wait and go together in the next batch (one transaction, a few statements over arrays),
 * so the number of transactions — and of durable commits — grows with the number of batches,
 * not of calls. No timer: an idle store runs a lone call at once.
 */
import { FleetError, isFleetError } from '../errors.js';

/** Options of the batched store writes and reads (`batch` of the stores and of `createPostgresStores`). */
export interface BatchOptions {
  /** Most calls in one batch (one transaction). @defaultValue 128 */
  readonly maxSize?: number;
  /** Batches of one kind in flight at once (each holds one pooled connection). @defaultValue 2 */
  readonly concurrency?: number;
}

/** @internal The resolved batch settings, or undefined for no batching. */
export interface ResolvedBatch {
  readonly maxSize: number;
  readonly concurrency: number;
}

/** @internal Checks the `batch` option of a store. */
export function resolveBatch(api: string, batch: boolean | BatchOptions | undefined): ResolvedBatch | undefined {
  if (batch === undefined || batch === false) return undefined;
  const o: BatchOptions = batch === true ? {} : batch;
  if (typeof o !== 'object' || o === null) throw new FleetError('INVALID_ARGUMENT', `${api}: batch must be true, false or { maxSize?, concurrency? }`, { status: 400 });
  const maxSize = o.maxSize ?? 128;
  const concurrency = o.concurrency ?? 2;
  if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > 10_000) throw new FleetError('INVALID_ARGUMENT', `${api}: batch.maxSize must be an integer from 1 to 10000, got ${String(maxSize)}`, { status: 400 });
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new FleetError('INVALID_ARGUMENT', `${api}: batch.concurrency must be an integer from 1 to 64, got ${String(concurrency)}`, { status: 400 });
  return { maxSize, concurrency };
}

/** @internal One call's outcome inside a batch: a value, or an error for that call alone. */
export type Settled<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown };

interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * @internal Groups calls by `group` (the tenant: one transaction sets one tenant) and runs each
 * batch with `runBatch`, which returns one outcome per item in order. When a batch of several
 * calls fails as a whole with anything but `STORE_UNAVAILABLE`, each call is run alone with
 * `runOne`, so one call's bad input never fails the others.
 */
export class Batcher<I, O> {
  readonly #settings: ResolvedBatch;
  readonly #group: (item: I) => string;
  readonly #runBatch: (group: string, items: readonly I[]) => Promise<Settled<O>[]>;
  readonly #runOne: (item: I) => Promise<O>;
  readonly #queues = new Map<string, Pending<I, O>[]>();
  #inFlight = 0;

  constructor(settings: ResolvedBatch, group: (item: I) => string, runBatch: (group: string, items: readonly I[]) => Promise<Settled<O>[]>, runOne: (item: I) => Promise<O>) {
    this.#settings = settings;
    this.#group = group;
    this.#runBatch = runBatch;
    this.#runOne = runOne;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const g = this.#group(item);
      let q = this.#queues.get(g);
      if (q === undefined) {
        q = [];
        this.#queues.set(g, q);
      }
      q.push({ item, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#settings.concurrency && this.#queues.size > 0) {
      const [g, q] = this.#queues.entries().next().value as [string, Pending<I, O>[]];
      const batch = q.splice(0, this.#settings.maxSize);
      if (q.length === 0) this.#queues.delete(g);
      else {
        // Round robin between groups: this one goes to the back.
        this.#queues.delete(g);
        this.#queues.set(g, q);
      }
      this.#inFlight++;
      void this.#run(g, batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #run(group: string, batch: Pending<I, O>[]): Promise<void> {
    let results: Settled<O>[];
    try {
      results = await this.#runBatch(
        group,
        batch.map((p) => p.item),
      );
    } catch (e) {
      if (batch.length === 1 || isFleetError(e, 'STORE_UNAVAILABLE')) {
        for (const p of batch) p.reject(e);
        return;
      }
      await Promise.all(batch.map((p) => this.#runOne(p.item).then(p.resolve, p.reject)));
      return;
    }
    batch.forEach((p, i) => {
      const r = results[i];
      if (r === undefined) p.reject(new FleetError('INTERNAL', 'a batched store call got no result', { status: 500 }));
      else if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    });
  }
}
