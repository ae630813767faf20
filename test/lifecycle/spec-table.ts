/**
 * The lifecycle diagram written out independently of the implementation, as the tests' oracle.
 */
export const STATES = ['unprovisioned', 'provisioning', 'active', 'degraded', 'maintenance', 'decommissioned'] as const;
export const EVENTS = [
  'registration_initiated',
  'config_complete',
  'provisioning_failed',
  'health_check_failed',
  'scheduled_update',
  'heartbeat',
  'auto_recovery',
  'manual_intervention',
  'unrecoverable',
  'update_complete',
  'update_failed',
  'end_of_life',
  'data_wiped',
] as const;
export type S = (typeof STATES)[number];
export type E = (typeof EVENTS)[number];

/** "from --event--> to" lines copied from the diagram; "removed" means the record is deleted. */
const DIAGRAM = `
unprovisioned registration_initiated provisioning
provisioning config_complete active
provisioning provisioning_failed unprovisioned
active health_check_failed degraded
active scheduled_update maintenance
active heartbeat active
degraded auto_recovery active
degraded manual_intervention maintenance
degraded unrecoverable decommissioned
maintenance update_complete active
maintenance update_failed degraded
active end_of_life decommissioned
decommissioned data_wiped removed
`;

export const SPEC: ReadonlyMap<string, S | 'removed'> = new Map(
  DIAGRAM.trim()
    .split('\n')
    .map((line) => {
      const [from, event, to] = line.trim().split(/\s+/);
      return [`${from}/${event}`, to as S | 'removed'] as const;
    }),
);

/** The diagram's target for (state, event), or undefined when the pair is not allowed. */
export function expected(state: S, event: E): S | 'removed' | undefined {
  return SPEC.get(`${state}/${event}`);
}
