/**
 * Shadow basics: the AWS light-bulb walkthrough with fleetkit's pure shadow engine.
 *
 *   npx tsx examples/shadow-basics.ts
 */
import { applyShadowUpdate, computeDelta, deleteShadow, getShadow, reconcileShadow, type StoredShadow } from 'fleetkit';

let shadow: StoredShadow | undefined;
let now = Date.UTC(2026, 0, 1, 12, 0, 0);

function update(request: unknown, label: string): void {
  const result = applyShadowUpdate(shadow, request, { now: (now += 60_000) });
  if (!result.ok) {
    console.log(`${label}: rejected ${JSON.stringify(result.rejected)}`);
    return;
  }
  shadow = result.document;
  console.log(`${label}: accepted v${result.document.version}`, JSON.stringify(result.accepted.state));
  if (result.delta) console.log(`  → update/delta for the device:`, JSON.stringify(result.delta.state));
}

// 1. The bulb reports its colour; 2. the app asks for green (a delta appears);
// 3. the bulb turns green and clears desired; 4. a stale write is refused (optimistic locking).
update({ state: { reported: { color: 'red', brightness: 80 } } }, 'device reports');
update({ state: { desired: { color: 'green' } }, clientToken: 'app-1' }, 'app desires');
update({ state: { reported: { color: 'green' }, desired: null } }, 'device converges');
update({ state: { desired: { color: 'blue' } }, version: 1 }, 'stale app write');
update({ state: { desired: { 'color': 'x'.repeat(9000) } } }, 'oversized write');

const got = getShadow(shadow, { now, name: 'myLightBulb' });
if (got.ok) console.log('get/accepted:', JSON.stringify(got.response));

console.log('delta of desired vs reported:', JSON.stringify(computeDelta({ lights: { r: 255, g: 255 } }, { lights: { r: 255, g: 0 } })));

// Offline sync: the device changed brightness while offline, the cloud changed colour.
const merged = reconcileShadow({
  base: { color: 'green', brightness: 80 },
  local: { color: 'green', brightness: 40 },
  remote: { color: 'amber', brightness: 80 },
  owner: 'remote',
});
console.log('three-way reconcile:', JSON.stringify(merged.merged), `conflicts: ${merged.conflicts.length}`);

const deleted = deleteShadow(shadow, { now, name: 'myLightBulb' });
if (deleted.ok) {
  console.log('delete/accepted:', JSON.stringify(deleted.accepted));
  const again = getShadow(deleted.tombstone, { now, name: 'myLightBulb' });
  if (!again.ok) console.log('get after delete:', JSON.stringify(again.rejected));
}
