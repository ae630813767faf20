/**
 * Typed errors shared by every fleetkit module.
 *
 * @module
 */
import { describeValue } from './describe-value.js';

/**
 * Every stable error code fleetkit raises. Codes never change meaning between versions;
 * match on them, not on messages.
 */
export type FleetErrorCode =
  // generic
  | 'INVALID_ARGUMENT'
  | 'INVALID_INPUT'
  | 'INTERNAL'
  /** The store's database cannot be reached (down, restarting, out of connections); nothing was written, retry later. */
  | 'STORE_UNAVAILABLE'
  // shadow (AWS IoT Device Shadow compatible, see docs/shadow.md)
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'INVALID_VERSION'
  | 'INVALID_CLIENT_TOKEN'
  | 'INVALID_NAME'
  | 'FORBIDDEN_KEY'
  | 'TOO_DEEP'
  | 'PAYLOAD_TOO_LARGE'
  | 'VERSION_CONFLICT'
  | 'SHADOW_NOT_FOUND'
  | 'TOO_MANY_REQUESTS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  // registry and tenancy
  | 'TENANT_MISMATCH'
  | 'DEVICE_NOT_FOUND'
  | 'ALREADY_EXISTS'
  // lifecycle and provisioning
  | 'INVALID_TRANSITION'
  | 'CERT_UNTRUSTED'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_REVOKED'
  | 'CERT_INVALID'
  | 'CA_INACTIVE'
  | 'TEMPLATE_INVALID'
  | 'ALREADY_PROVISIONED'
  | 'ENROLLMENT_INVALID'
  | 'REPLAY_DETECTED'
  /** A provisioning proof (a signature over a server-issued nonce) is missing or does not verify. */
  | 'PROOF_INVALID'
  /** A provisioning nonce was not issued by this service for this device, or has expired. */
  | 'NONCE_INVALID'
  // rollout
  | 'INVALID_PLAN'
  | 'INVALID_OPERATION'
  | 'ROLLOUT_NOT_FOUND'
  /** A saved rollout tracker is corrupt, of another format version, or of another plan. */
  | 'INVALID_SNAPSHOT'
  // firmware catalog
  /** No such firmware version in the tenant's catalog (or no such signing key). */
  | 'FIRMWARE_NOT_FOUND'
  /** A firmware image's signature does not verify with the tenant's signing key. */
  | 'SIGNATURE_INVALID'
  /** A firmware image does not support a device's hardware. */
  | 'FIRMWARE_INCOMPATIBLE'
  // protocol and transport
  | 'INVALID_PAYLOAD'
  | 'INVALID_TOPIC'
  | 'AUTH_FAILED'
  | 'NOT_CONNECTED'
  | 'QUEUE_FULL'
  | 'TRANSPORT_CLOSED'
  | 'TIMEOUT';

/** Options accepted by the {@link FleetError} constructor. */
export interface FleetErrorOptions {
  /** AWS-style numeric status (400, 404, 409, 413, 429, 500, …) where one applies. */
  readonly status?: number;
  /** Structured facts about the failure: the offending field, value, limits, … */
  readonly details?: Readonly<Record<string, unknown>>;
  /** The underlying error, if this one wraps another. */
  readonly cause?: unknown;
  /**
   * Capture a stack trace. Rejections that are ordinary answers to bad input (a malformed
   * request, a stale version) skip it: a stack costs far more than the rest of the error.
   * @defaultValue true
   */
  readonly captureStack?: boolean;
}

const BRAND: unique symbol = Symbol.for('fleetkit.FleetError');

/**
 * The one error type fleetkit throws or returns. It carries a stable {@link FleetErrorCode},
 * an optional AWS-style numeric `status`, structured `details` and the `cause`.
 *
 * Messages say what was wrong and how to fix it.
 *
 * @example
 * ```ts
 * try { parseJson(text); } catch (e) {
 *   if (isFleetError(e) && e.code === 'INVALID_JSON') console.log(e.message);
 * }
 * ```
 */
export class FleetError extends Error {
  /** The stable machine-readable code. */
  readonly code: FleetErrorCode;
  /** AWS-style numeric status, when one applies. */
  readonly status: number | undefined;
  /** Structured facts about the failure. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /**
   * @param code - stable code
   * @param message - what was wrong and how to fix it
   * @param options - status, details and cause
   */
  constructor(code: FleetErrorCode, message: string, options: FleetErrorOptions = {}) {
    // Untyped callers can pass anything: an error must still come out, never a TypeError.
    const opts: FleetErrorOptions = typeof options === 'object' && options !== null ? options : {};
    const limit = Error.stackTraceLimit;
    if (opts.captureStack === false) Error.stackTraceLimit = 0;
    try {
      super(typeof message === 'string' ? message : describeValue(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'FleetError';
    this.code = code;
    this.status = opts.status;
    this.details = opts.details;
  }

  /** A plain JSON form (code, status, message, details) for logs and wire responses. */
  toJSON(): { name: string; code: FleetErrorCode; status?: number; message: string; details?: Readonly<Record<string, unknown>> } {
    return {
      name: this.name,
      code: this.code,
      ...(this.status === undefined ? {} : { status: this.status }),
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

// The brand lives on the prototype so that every FleetError, from any copy of the package, carries it.
Object.defineProperty(FleetError.prototype, BRAND, { value: true });

/**
 * True when `value` is a {@link FleetError}, including one created by another copy of the
 * fleetkit package (it checks a `Symbol.for` brand, not `instanceof`).
 *
 * @param value - anything caught
 * @param code - optionally, the code it must carry
 */
export function isFleetError(value: unknown, code?: FleetErrorCode): value is FleetError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}

/**
 * A result that is either a value or a {@link FleetError}; the shape every pure core function
 * returns instead of throwing.
 */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: FleetError };
