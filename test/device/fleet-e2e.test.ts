// End to end on the memory broker: 1,000 VirtualDevices against createFleet through the whole
// device story (test/device/fleet-story.ts): provisioning with refusals, shadow configuration,
// lab commands, offline and catching up, a rollout that aborts and rolls back, then one that completes.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { runFleetStory, type FleetStory } from './fleet-story.js';

let story: FleetStory | undefined;
afterEach(async () => {
  await story?.close();
  story = undefined;
});

describe('the device tier end to end on the memory broker', () => {
  it('1,000 virtual devices: provisioning, configuration, commands, offline catch-up, a failed and a good rollout', { timeout: 180_000 }, async () => {
    const broker = new MemoryBroker();
    const links = new Map<string, MemoryTransport>();
    const started = Date.now();
    story = await runFleetStory({
      devices: 1000,
      bad: 5,
      backend: new MemoryTransport({ broker, clientId: 'fleet-backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 }),
      device: (id, _i, clock) => {
        const t = new MemoryTransport({ broker, clientId: id, clock, autoReconnect: false, queue: { maxMessages: 10_000 } });
        links.set(id, t);
        return t;
      },
      offline: Array.from({ length: 100 }, (_, k) => 5 + k * 9),
      goOffline: async (ids) => {
        for (const id of ids) expect(broker.disconnect(id)).toBe(true);
      },
      comeBack: async (ids) => {
        await Promise.all(ids.map((id) => links.get(id)!.connect()));
      },
      stepTimeoutMs: 30_000,
    });
    console.log(`fleet-e2e (memory): ${JSON.stringify(story.report)} in ${Date.now() - started} ms`);
  });
});
