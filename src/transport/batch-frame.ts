/**
 * The frame the NB-IoT link profile sends when it batches several messages for one topic into one
 * publish: a 4-byte marker, a 16-bit count, then each message as a 32-bit length and its bytes
 * (all big-endian).
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';

/** The 4 bytes every batch frame starts with: NUL, "F", "K", "B" (a NUL never starts JSON or valid single-item CBOR). */
export const BATCH_MAGIC: Readonly<Uint8Array> = new Uint8Array([0x00, 0x46, 0x4b, 0x42]);

/**
 * Packs payloads into one batch frame.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `payloads` is not an array of Uint8Array, for no
 *   payloads or more than 65,535.
 */
export function encodeBatch(payloads: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(payloads)) {
    throw new FleetError('INVALID_ARGUMENT', `encodeBatch(payloads): payloads must be an array of Uint8Array, got ${describeValue(payloads)}`, { status: 400 });
  }
  if (payloads.length === 0 || payloads.length > 0xffff) {
    throw new FleetError('INVALID_ARGUMENT', `encodeBatch: a batch holds 1–65535 payloads, got ${payloads.length}`, { status: 400 });
  }
  // One read of each element: a getter cannot hand the second pass a payload of another size.
  const parts: Uint8Array[] = [];
  let size = 6;
  for (let i = 0; i < payloads.length; i++) {
    const p: unknown = payloads[i];
    if (!(p instanceof Uint8Array)) {
      throw new FleetError('INVALID_ARGUMENT', `encodeBatch(payloads): payloads[${i}] must be a Uint8Array, got ${describeValue(p)}`, { status: 400 });
    }
    parts.push(p);
    size += 4 + p.byteLength;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(BATCH_MAGIC, 0);
  view.setUint16(4, parts.length);
  let at = 6;
  for (const p of parts) {
    view.setUint32(at, p.byteLength);
    out.set(p, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

/**
 * Unpacks a batch frame.
 *
 * @returns the payloads (views into `frame`), or `undefined` when `frame` is not a well-formed batch
 * @throws FleetError `INVALID_ARGUMENT` when `frame` is not a Uint8Array.
 */
export function decodeBatch(frame: Uint8Array): Uint8Array[] | undefined {
  if (!(frame instanceof Uint8Array)) {
    throw new FleetError('INVALID_ARGUMENT', `decodeBatch(frame): frame must be a Uint8Array, got ${describeValue(frame)}`, { status: 400 });
  }
  if (frame.byteLength < 6) return undefined;
  for (let i = 0; i < 4; i++) if (frame[i] !== BATCH_MAGIC[i]) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint16(4);
  const out: Uint8Array[] = [];
  let at = 6;
  for (let k = 0; k < count; k++) {
    if (at + 4 > frame.byteLength) return undefined;
    const len = view.getUint32(at);
    if (at + 4 + len > frame.byteLength) return undefined;
    out.push(frame.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return at === frame.byteLength && count > 0 ? out : undefined;
}
