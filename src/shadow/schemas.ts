/**
 * zod schemas of the shadow wire messages, for users who validate at their own boundaries.
 * The engine accepts exactly what these accept (apart from the size and depth limits, which
 * depend on configuration) and answers the rest with AWS's rejection messages.
 */
import { z } from 'zod';
import { FORBIDDEN_KEYS, utf8ByteLength, type JsonObject, type JsonValue } from '../json.js';
import { MAX_OBSERVED_AT } from './validate.js';

/** A shadow `clientToken`: a string of at most 64 UTF-8 bytes. */
export const clientTokenSchema: z.ZodType<string> = z.string().refine((t) => utf8ByteLength(t) <= 64, { message: 'Invalid clientToken: at most 64 bytes' });

const key = z.string().refine((k) => !FORBIDDEN_KEYS.has(k), { message: 'keys "__proto__", "constructor" and "prototype" are not allowed' });

/** Any JSON value with no `null` anywhere inside it (what an array element may hold). */
export const nullFreeJsonSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number().refine(Number.isFinite), z.boolean(), z.array(nullFreeJsonSchema), z.record(key, nullFreeJsonSchema)]),
);

/** A value in an update's section: JSON, where `null` deletes and arrays hold no `null`. */
export const shadowPatchValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.string(), z.number().refine(Number.isFinite), z.boolean(), z.array(nullFreeJsonSchema), z.record(key, shadowPatchValueSchema)]),
);

/** A `desired`/`reported` section of an update: an object, or `null` to delete the section. */
export const shadowSectionSchema: z.ZodType<JsonObject | null> = z.union([z.null(), z.record(key, shadowPatchValueSchema) as z.ZodType<JsonObject>]);

/**
 * An update request: `{ state: { desired?, reported?, delta? } | null, clientToken?, version?, timestamp? }`
 * (`timestamp`: fleetkit's extension, the epoch seconds at which the device observed its state,
 * 0 to 8.64e12).
 */
export const shadowUpdateRequestSchema = z.object({
  state: z.union([
    z.null(),
    z
      .object({
        desired: shadowSectionSchema.optional(),
        reported: shadowSectionSchema.optional(),
        delta: z.unknown().optional(),
      })
      .strict(),
  ]),
  clientToken: clientTokenSchema.optional(),
  version: z.number().int().nonnegative().optional(),
  timestamp: z.number().min(0).max(MAX_OBSERVED_AT).optional(),
});

/** A get or delete request: empty, or `{ clientToken?, version? }` (`version` is ignored). */
export const shadowGetRequestSchema = z.object({
  clientToken: clientTokenSchema.optional(),
  version: z.number().int().nonnegative().optional(),
});

/** A parsed update request. */
export type ShadowUpdateRequest = z.infer<typeof shadowUpdateRequestSchema>;
/** A parsed get or delete request. */
export type ShadowGetRequest = z.infer<typeof shadowGetRequestSchema>;
