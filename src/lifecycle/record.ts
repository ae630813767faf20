/**
 * The device record provisioning produces: the lifecycle snapshot plus identity and configuration.
 */
import type { JsonObject } from '../json.js';
import type { HomeAssignment } from './home-endpoint.js';
import type { DeviceSnapshot } from './snapshot.js';

/** The credential a device provisioned with. */
export type DeviceIdentity =
  | {
      readonly kind: 'x509';
      /** SHA-256 fingerprint of the certificate (`sha256:` + hex). */
      readonly fingerprint: string;
      /** Issuer DN as node:crypto prints it. */
      readonly issuer: string;
      /** Serial number, canonical hex. */
      readonly serial: string;
      /** Id of the registered CA that issued it. */
      readonly caId: string;
      /** Validity start (epoch ms). */
      readonly notBefore: number;
      /** Validity end (epoch ms); see {@link certificatesExpiring}. */
      readonly notAfter: number;
    }
  | {
      readonly kind: 'symmetric-key';
      /** SHA-256 over group and registration id (`sha256:` + hex); stable across group-key rotation. */
      readonly fingerprint: string;
      /** Enrollment group id. */
      readonly groupId: string;
      /** The device's registration id. */
      readonly registrationId: string;
    };

/** A provisioned device. */
export interface DeviceRecord extends DeviceSnapshot {
  /** The credential. */
  readonly identity: DeviceIdentity;
  /** Registry attributes from the template. */
  readonly attributes: Readonly<Record<string, string>>;
  /** The initial desired configuration from the template. */
  readonly desiredConfig: JsonObject;
  /** Policies attached to the credential. */
  readonly policies: readonly string[];
  /** Home region, endpoint and topics, when the template has a home rule. */
  readonly home?: HomeAssignment;
  /** Name of the template that provisioned it. */
  readonly template: string;
  /** When it was provisioned (epoch ms). */
  readonly provisionedAt: number;
}

/**
 * What provisioning needs to know about a device id that already exists: its snapshot and, if it
 * has one, its identity. Return `undefined` from the lookup when the id is free.
 */
export type ExistingDevice = DeviceSnapshot & { readonly identity?: DeviceIdentity };

/** Looks up the record currently stored under a device id (a pure read the caller provides). */
export type ExistingDeviceLookup = (deviceId: string) => ExistingDevice | undefined;
