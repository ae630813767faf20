/**
 * The typed events a `ShadowService` emits.
 */
import type { FleetError } from '../errors.js';
import type { ShadowOperation } from '../protocol/topics.js';
import type { DeltaPayload, ShadowDocument, UpdateAcceptedPayload } from '../shadow/types.js';

/** Who sent a request: a device over the transport, or the application through the API. */
export type ShadowRequestSource = 'device' | 'application';

/** The shadow an event is about. */
export interface ShadowEventTarget {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The thing. */
  readonly thingName: string;
  /** The named shadow; absent for the classic shadow. */
  readonly shadowName?: string;
  /** Who sent the request. */
  readonly source: ShadowRequestSource;
}

/** An update was accepted and stored. */
export interface ShadowUpdatedEvent extends ShadowEventTarget {
  /** The new version. */
  readonly version: number;
  /** The stored document (frozen). */
  readonly document: ShadowDocument;
  /** The document before, or `undefined` when the shadow did not exist. */
  readonly previous: ShadowDocument | undefined;
  /** The `/update/accepted` payload as published. */
  readonly accepted: UpdateAcceptedPayload;
}

/** An accepted update left desired and reported apart: the `/update/delta` payload as published. */
export interface ShadowDeltaEvent extends ShadowEventTarget {
  /** The version of the update. */
  readonly version: number;
  /** The delta payload. */
  readonly delta: DeltaPayload;
}

/** A shadow was deleted (its tombstone keeps `version`). */
export interface ShadowDeletedEvent extends ShadowEventTarget {
  /** The deleted document's version. */
  readonly version: number;
}

/** A request was refused: what `/rejected` carried, with the full error. */
export interface ShadowRejectedEvent {
  /** The tenant, when the thing's tenant was known. */
  readonly tenantId?: string;
  /** The thing, when the topic named a valid one. */
  readonly thingName?: string;
  /** The named shadow, if any. */
  readonly shadowName?: string;
  /** The operation, when the topic named one. */
  readonly operation?: ShadowOperation;
  /** Who sent the request. */
  readonly source: ShadowRequestSource;
  /** Why (a `FleetError` with the AWS status in `status`). */
  readonly error: FleetError;
}

/** Every event of a `ShadowService`. */
export interface ShadowServiceEvents {
  /** An update was accepted. */
  'shadow:updated': (event: ShadowUpdatedEvent) => void;
  /** An accepted update produced a non-empty delta. */
  'shadow:delta': (event: ShadowDeltaEvent) => void;
  /** A shadow was deleted. */
  'shadow:deleted': (event: ShadowDeletedEvent) => void;
  /** A request was refused (malformed, unauthorized, conflicting, over a limit, …). */
  'shadow:rejected': (event: ShadowRejectedEvent) => void;
  /** A failure of the service itself: a store or a publish failed. */
  error: (error: FleetError) => void;
}
