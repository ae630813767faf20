/**
 * Shadow document types (AWS IoT Device Shadow compatible).
 */
import type { JsonObject } from '../json.js';

/** Per-leaf metadata: the epoch-seconds time the leaf was last written. */
export interface MetadataLeaf {
  /** Epoch seconds of the last write. */
  readonly timestamp: number;
}

/**
 * Metadata mirroring a JSON value: a {@link MetadataLeaf} for a scalar, an array of entries for
 * an array (one per element) and an object of entries for an object.
 */
export type MetadataNode = MetadataLeaf | MetadataObject | MetadataNode[];

/** Metadata mirroring a JSON object: one {@link MetadataNode} per key. */
export interface MetadataObject {
  [key: string]: MetadataNode;
}

/** The state sections of a shadow. Either may be absent; neither ever holds `null`. */
export interface ShadowState {
  /** What the application wants the device to be. */
  desired?: JsonObject;
  /** What the device says it is. */
  reported?: JsonObject;
}

/** Metadata for each state section, mirroring its shape exactly. */
export interface ShadowMetadata {
  /** Metadata of `state.desired`. */
  desired?: MetadataObject;
  /** Metadata of `state.reported`. */
  reported?: MetadataObject;
}

/**
 * A stored shadow: state, metadata and version. Treat it as immutable: the engine shares
 * untouched subtrees between versions (structural sharing), so mutating one would change others.
 */
export interface ShadowDocument {
  /** Desired and reported state. */
  readonly state: ShadowState;
  /** Per-leaf timestamps mirroring `state`. */
  readonly metadata: ShadowMetadata;
  /** Incremented by 1 on every accepted update; the first accepted update gives 1. */
  readonly version: number;
}

/**
 * What remains of a deleted shadow: its last version, so that the version counter continues
 * across delete (a re-created shadow starts at `version + 1`). A get answers 404 for it.
 */
export interface ShadowTombstone {
  /** Marks a deleted shadow. */
  readonly deleted: true;
  /** The version the shadow had when it was deleted. */
  readonly version: number;
}

/** What a store holds for one shadow: a live document or the tombstone of a deleted one. */
export type StoredShadow = ShadowDocument | ShadowTombstone;

/** `{ state, metadata, version }` as published in `/update/documents`. */
export interface ShadowSnapshot {
  /** State at that version. */
  readonly state: ShadowState;
  /** Metadata at that version. */
  readonly metadata: ShadowMetadata;
  /** The version. */
  readonly version: number;
}

/** The `/update/accepted` payload: the request's own fields echoed with their metadata. */
export interface UpdateAcceptedPayload {
  /** The request's state (explicit `null`s included; `state.delta` dropped); `null` when the request cleared all state. */
  readonly state: { desired?: JsonObject | null; reported?: JsonObject | null } | null;
  /** Metadata for exactly the request's fields; a nulled section (or state) gets a `{ timestamp }`. */
  readonly metadata: { desired?: MetadataNode; reported?: MetadataNode } | MetadataLeaf;
  /** The new version. */
  readonly version: number;
  /** Epoch seconds of the update. */
  readonly timestamp: number;
  /** Echo of the request's token. */
  readonly clientToken?: string;
}

/** The `/update/delta` payload. */
export interface DeltaPayload {
  /** Desired leaves that differ from (or are missing in) reported, with their paths. */
  readonly state: JsonObject;
  /** The desired metadata of the delta's leaves. */
  readonly metadata: MetadataObject;
  /** The version of the update that produced the delta. */
  readonly version: number;
  /** Epoch seconds. */
  readonly timestamp: number;
  /** Echo of the request's token. */
  readonly clientToken?: string;
}

/** The `/update/documents` payload. */
export interface DocumentsPayload {
  /** The document before the update; `null` when the shadow did not exist. */
  readonly previous: ShadowSnapshot | null;
  /** The document after the update. */
  readonly current: ShadowSnapshot;
  /** Epoch seconds. */
  readonly timestamp: number;
  /** Echo of the request's token. */
  readonly clientToken?: string;
}

/** The `/get/accepted` payload. */
export interface GetAcceptedPayload {
  /** Desired, reported and (when non-empty) the delta. */
  readonly state: { desired?: JsonObject; reported?: JsonObject; delta?: JsonObject };
  /** Metadata of desired and reported. */
  readonly metadata: ShadowMetadata;
  /** Current version. */
  readonly version: number;
  /** Epoch seconds of the response. */
  readonly timestamp: number;
  /** Echo of the request's token. */
  readonly clientToken?: string;
}

/** The `/delete/accepted` payload. */
export interface DeleteAcceptedPayload {
  /** The version of the deleted document. */
  readonly version: number;
  /** Epoch seconds. */
  readonly timestamp: number;
  /** Echo of the request's token. */
  readonly clientToken?: string;
}

/** The `/rejected` payload (any operation). */
export interface RejectedPayload {
  /** AWS-style numeric status: 400, 401, 403, 404, 409, 413, 415, 429 or 500. */
  readonly code: number;
  /** AWS's message text. */
  readonly message: string;
  /** Epoch seconds. */
  readonly timestamp: number;
  /** Echo of the request's token, when it was valid. */
  readonly clientToken?: string;
}
