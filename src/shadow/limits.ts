/**
 * Shadow limits (AWS IoT defaults, all configurable).
 */

/** Limits enforced by the shadow engine. */
export interface ShadowLimits {
  /**
   * Largest `desired` + `reported`, serialized as JSON (UTF-8 bytes, metadata excluded), measured after merging.
   * @defaultValue 8192
   */
  readonly maxDocumentBytes?: number;
  /**
   * Deepest nesting inside `desired`/`reported` (the section object is level 1).
   * @defaultValue 6
   */
  readonly maxDepth?: number;
  /**
   * Longest `clientToken` in UTF-8 bytes.
   * @defaultValue 64
   */
  readonly maxClientTokenBytes?: number;
  /**
   * Largest raw request (when a string or bytes are passed).
   * @defaultValue 131072 (AWS IoT's message size limit)
   */
  readonly maxRequestBytes?: number;
}

/** {@link ShadowLimits} with every default filled in. */
export type ResolvedShadowLimits = Required<ShadowLimits>;

/** AWS IoT's shadow limits. */
export const DEFAULT_SHADOW_LIMITS: ResolvedShadowLimits = Object.freeze({
  maxDocumentBytes: 8192,
  maxDepth: 6,
  maxClientTokenBytes: 64,
  maxRequestBytes: 131072,
});

/** At most this many in-flight requests per thing (enforced by the shadow service, answered with 429). */
export const MAX_IN_FLIGHT_PER_THING = 10;

/** Fills in defaults (used by the shadow service to resolve its configured limits once). */
export function resolveLimits(limits: ShadowLimits | undefined): ResolvedShadowLimits {
  if (limits === undefined) return DEFAULT_SHADOW_LIMITS;
  return { ...DEFAULT_SHADOW_LIMITS, ...limits };
}
