/**
 * LoRaWAN EU868 arithmetic: the largest application payload per data rate and the time on air
 * of one uplink (Semtech AN1200.13), which the LoRa link profile charges to its duty-cycle budget.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';

/** An EU868 LoRaWAN data rate: DR0 (SF12, slowest, longest range) … DR6 (SF7 at 250 kHz). */
export type LoraDataRate = 0 | 1 | 2 | 3 | 4 | 5 | 6;

// LoRaWAN Regional Parameters, EU863-870: maximum FRMPayload N per data rate (no FOpts).
const MAX_PAYLOAD: readonly number[] = [51, 51, 51, 115, 222, 222, 222];
const SPREADING: readonly number[] = [12, 11, 10, 9, 8, 7, 7];
/** MHDR (1) + FHDR without FOpts (7) + FPort (1) + MIC (4): bytes a LoRaWAN frame adds to the payload. */
const FRAME_OVERHEAD = 13;

function checkRate(dataRate: unknown): LoraDataRate {
  if (typeof dataRate !== 'number' || !Number.isInteger(dataRate) || dataRate < 0 || dataRate > 6) {
    throw new FleetError('INVALID_ARGUMENT', `LoRa data rate must be an integer DR0–DR6 (EU868), got ${describeValue(dataRate)}`, { status: 400 });
  }
  return dataRate as LoraDataRate;
}

/**
 * The largest application payload (bytes) one EU868 uplink carries at `dataRate`: 51 at DR0–DR2,
 * 115 at DR3, 222 at DR4–DR6.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a data rate outside DR0–DR6.
 */
export function loraMaxPayload(dataRate: LoraDataRate): number {
  return MAX_PAYLOAD[checkRate(dataRate)] as number;
}

/**
 * Time on air (ms) of one uplink carrying `payloadBytes` of application payload at `dataRate`
 * (8-symbol preamble, explicit header, CRC on, coding rate 4/5, low-data-rate optimisation at
 * SF11/SF12 on 125 kHz).
 *
 * @example
 * ```ts
 * loraTimeOnAirMs(51, 0); // ≈ 2793 ms at SF12
 * loraTimeOnAirMs(51, 5); // ≈ 118 ms at SF7
 * ```
 * @throws FleetError `INVALID_ARGUMENT` for a bad data rate or a negative size.
 */
export function loraTimeOnAirMs(payloadBytes: number, dataRate: LoraDataRate): number {
  const dr = checkRate(dataRate);
  if (typeof payloadBytes !== 'number' || !Number.isInteger(payloadBytes) || payloadBytes < 0) {
    throw new FleetError('INVALID_ARGUMENT', `loraTimeOnAirMs: payloadBytes must be an integer ≥ 0, got ${describeValue(payloadBytes)}`, { status: 400 });
  }
  const sf = SPREADING[dr] as number;
  const bw = dr === 6 ? 250_000 : 125_000;
  const symbolMs = (2 ** sf / bw) * 1000;
  const lowRateOptimise = bw === 125_000 && sf >= 11 ? 1 : 0;
  const phy = payloadBytes + FRAME_OVERHEAD;
  const symbols = 8 + Math.max(Math.ceil((8 * phy - 4 * sf + 28 + 16) / (4 * (sf - 2 * lowRateOptimise))) * 5, 0);
  return (8 + 4.25) * symbolMs + symbols * symbolMs;
}
