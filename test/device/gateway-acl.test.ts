// The gateway sections of the generated mosquitto ACL.
import { describe, expect, it } from 'vitest';
import { deviceAclRules, mosquittoAcl, type AclDevice } from '../../src/cloud/mosquitto-acl.js';

const devices: AclDevice[] = [
  { deviceId: 's-1', tenantId: 'acme', state: 'active' },
  { deviceId: 's-2', tenantId: 'acme', state: 'degraded' },
  { deviceId: 's-3', tenantId: 'acme', state: 'decommissioned' },
  { deviceId: 'g-1', tenantId: 'globex', state: 'active' },
];

function section(acl: string, user: string): string[] {
  const lines = acl.split('\n');
  const start = lines.indexOf(`user ${user}`);
  expect(start).toBeGreaterThan(-1);
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end);
}

describe('mosquittoAcl gateways', () => {
  it('grants a gateway exactly the device rules of its registered, live children', () => {
    const acl = mosquittoAcl(devices, { provisioning: false, gateways: [{ username: 'gw-a', tenantId: 'acme', children: ['s-2', 's-1', 's-3', 'ghost', 's-1'] }] });
    const expected = [
      ...deviceAclRules('acme', 's-1').map(([a, t]) => `topic ${a} ${t}`),
      ...deviceAclRules('acme', 's-2').map(([a, t]) => `topic ${a} ${t}`),
      '# s-3: not registered or decommissioned, no access',
    ];
    const lines = section(acl, 'gw-a');
    expect(lines.filter((l) => !l.startsWith('# ghost'))).toEqual(expected);
    expect(lines).toContain('# ghost: not registered or decommissioned, no access');
    expect(acl.split('\n').filter((l) => l.includes('s-3/'))).toEqual([]);
  });

  it('is pure and the same for any order of children', () => {
    const a = mosquittoAcl(devices, { gateways: [{ username: 'gw-a', children: ['s-1', 's-2'] }] });
    const b = mosquittoAcl([...devices].reverse(), { gateways: [{ username: 'gw-a', children: ['s-2', 's-1'] }] });
    expect(a).toBe(b);
  });

  it('refuses a child of another tenant, a user name shared with a device or gateway, and malformed gateways', () => {
    const refused: [Parameters<typeof mosquittoAcl>[1], string][] = [
      [{ gateways: [{ username: 'gw-a', tenantId: 'acme', children: ['g-1'] }] }, 'TENANT_MISMATCH'],
      [{ gateways: [{ username: 's-1', children: [] }] }, 'INVALID_ARGUMENT'],
      [{ gateways: [{ username: 'gw-a', children: [] }, { username: 'gw-a', children: [] }] }, 'INVALID_ARGUMENT'],
      [{ gateways: [{ username: 'gw a', children: [] }] }, 'INVALID_ARGUMENT'],
      [{ gateways: [{ username: 'gw-a', children: 's-1' as never }] }, 'INVALID_ARGUMENT'],
      [{ gateways: [{ username: 'gw-a', children: ['a/b'] }] }, 'INVALID_NAME'],
      [{ gateways: {} as never }, 'INVALID_ARGUMENT'],
      [{ gateways: [null as never] }, 'INVALID_ARGUMENT'],
    ];
    for (const [options, code] of refused) expect(() => mosquittoAcl(devices, options), JSON.stringify(options)).toThrow(expect.objectContaining({ name: 'FleetError', code }));
  });
});
