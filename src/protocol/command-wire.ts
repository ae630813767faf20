/**
 * Command messages on `cmd/{tenantId}/{deviceId}/req/{commandId}` (cloud → device) and
 * `…/res/{commandId}` (device → cloud), in the command store's status vocabulary: one word for a
 * state on the wire, in the store and in the API.
 */
import { z } from 'zod';
import type { JsonObject } from '../json.js';
import type { CommandInput, CommandState } from '../store/command-store.js';
import { messageIdSchema } from './topics.js';

/** The statuses a device reports for a command, in the order a command goes through them. */
export const COMMAND_ACK_STATUSES = ['received', 'executing', 'succeeded', 'failed', 'rejected'] as const;

/** A status a device reports: `received`, `executing`, then `succeeded`, `failed` or `rejected`. */
export type CommandAckStatus = (typeof COMMAND_ACK_STATUSES)[number];

/** `cmd/{tenantId}/{deviceId}/req/{commandId}`: a command for the device. */
export const commandRequestWireSchema = z.object({
  commandId: messageIdSchema,
  /** What to do, e.g. `reboot`, `set-interval`. */
  name: z.string().min(1).max(128),
  /** Its parameters. */
  params: z.record(z.string(), z.json()),
  /** When it was created (epoch ms). */
  issuedAt: z.number().int().nonnegative(),
  /** After this time the device must not start it (it answers `rejected`); the service marks it `expired`. */
  expiresAt: z.number().int().nonnegative().optional(),
});

/** `cmd/{tenantId}/{deviceId}/res/{commandId}`: the device's acknowledgement or result. */
export const commandAckWireSchema = z.object({
  commandId: messageIdSchema,
  status: z.enum(COMMAND_ACK_STATUSES),
  /** The device's time (epoch ms). */
  ts: z.number().int().nonnegative(),
  /** The result, with `succeeded` (or `failed`). */
  result: z.json().optional(),
  /** Why, with `failed` or `rejected`. */
  error: z.object({ code: z.string().min(1).max(64), message: z.string().max(1024) }).optional(),
});

/** A command request as the device receives it. */
export type CommandRequestMessage = z.infer<typeof commandRequestWireSchema>;
/** A command acknowledgement as the device sends it. */
export type CommandAckMessage = z.infer<typeof commandAckWireSchema>;

// ── drift checks: these fail to compile when the wire and the store's types part ──────────────
type Assert<T extends true> = T;
// Every status a device reports is a state the store holds.
type _AckStatusesAreStates = Assert<CommandAckStatus extends CommandState ? true : false>;
// The request carries the stored command's name, params and expiry.
type _RequestMatchesStore = Assert<
  CommandInput['name'] extends CommandRequestMessage['name'] ? (JsonObject extends CommandRequestMessage['params'] ? (NonNullable<CommandInput['expiresAt']> extends CommandRequestMessage['expiresAt'] ? true : false) : false) : false
>;
