import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { defineProvisioningTemplate, fillProvisioningTemplate, templateParameterValueSchema } from '../../src/lifecycle/index.js';
import type { ProvisioningTemplate, TemplateParameters } from '../../src/lifecycle/index.js';

const defaults = { deviceId: '{{CommonName}}', tenantId: '{{Organization}}' };

describe('defineProvisioningTemplate', () => {
  it.each([
    [{ name: 't', deviceId: '{{Nope}}' }, 'unknown placeholder'],
    [{ name: 't', deviceId: '{{DeviceId}}' }, 'unknown placeholder'],
    [{ name: 't', attributes: { a: '{CommonName}' } }, 'braces'],
    [{ name: 't', attributes: { __proto__x: 'v', constructor: 'v' } }, 'prototype key'],
    [{ name: 't', desiredConfig: { a: Number.NaN } }, 'desiredConfig'],
    [{ name: 't', home: { rules: [], topics: { t: 'devices/+/x' } } }, 'topics'],
    [{ name: 't', home: { rules: [], topics: { t: '$aws/things/{{DeviceId}}' } } }, 'topics'],
    [{ name: 't', home: { rules: [], fallback: { region: 'eu', endpoint: 'javascript:alert(1)' }, topics: {} } }, 'endpoint'],
    [{ name: 't', home: { rules: [{ when: { country: 'DE' }, region: 'eu', endpoint: 'mqtts://eu.example.com' }], topics: {} } }, 'home.rules.0.when.country'],
    [{ name: 't', parameterDefaults: { TenantId: 'x' } }, 'source parameters'],
    [{ name: 't', parameterDefaults: { Country: 'a/b' } }, 'letters'],
    [{ name: 't', extra: 1 }, 'Unrecognized key'],
    [{}, 'name'],
  ])('refuses %j (%s)', (definition, fragment) => {
    try {
      defineProvisioningTemplate(definition);
      expect.unreachable();
    } catch (e) {
      expect(isFleetError(e, 'TEMPLATE_INVALID')).toBe(true);
      expect((e as Error).message).toContain(fragment);
    }
  });
});

describe('fillProvisioningTemplate', () => {
  const template = defineProvisioningTemplate({
    name: 't',
    deviceId: '{{OrganizationalUnit}}-{{CommonName}}',
    attributes: { note: 'cn={{CommonName}};tenant={{TenantId}}' },
    desiredConfig: { nested: { list: ['{{DeviceId}}', 3, true, null] } },
  });

  it('joins parameters and fills derived ones everywhere else', () => {
    const r = fillProvisioningTemplate(template, { CommonName: 'dev-1', Organization: 'acme', OrganizationalUnit: 'line-2' }, defaults);
    expect(r.ok && r.value).toMatchObject({
      deviceId: 'line-2-dev-1',
      tenantId: 'acme',
      attributes: { note: 'cn=dev-1;tenant=acme' },
      desiredConfig: { nested: { list: ['line-2-dev-1', 3, true, null] } },
    });
  });

  it('property: substitution is one pass — a value is never read as a template, and unsafe values are refused', () => {
    const plain = defineProvisioningTemplate({ name: 'p', deviceId: 'dev-{{Organization}}', attributes: { a: '{{CommonName}}' } });
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.constantFrom('{{Organization}}', '{{CommonName}}', '/', '+', '#', '..', '$', ' ', ''), (s, hostile) => {
        const cn = `${s}${hostile}`;
        const r = fillProvisioningTemplate(plain, { CommonName: cn, Organization: 'acme' }, defaults);
        if (templateParameterValueSchema.safeParse(cn).success) {
          expect(r.ok && r.value.attributes['a']).toBe(cn);
          expect(r.ok && r.value.deviceId).toBe('dev-acme');
        } else {
          expect(!r.ok && r.error.code).toBe('TEMPLATE_INVALID');
        }
      }),
    );
  });

  it('property: accepted values never contain topic, path or placeholder syntax', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (v) => {
        if (templateParameterValueSchema.safeParse(v).success) {
          expect(/[/+#{}$\s\\"'<>]|\.\./.test(v)).toBe(false);
        }
      }),
    );
  });

  it('refuses a template that did not go through defineProvisioningTemplate', () => {
    // unvalidated: a wildcard topic and a stray brace would reach the device
    const raw = { name: 'raw', attributes: { a: '{x}' }, home: { rules: [], fallback: { region: 'eu', endpoint: 'mqtts://e.example.com' }, topics: { t: '#' } } };
    const r = fillProvisioningTemplate(raw as unknown as ProvisioningTemplate, { CommonName: 'dev-1', Organization: 'acme' }, defaults);
    expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
    expect(!r.ok && r.error.message).toContain('defineProvisioningTemplate');
    // a copy of a validated template keeps its brand
    expect(fillProvisioningTemplate({ ...template }, { CommonName: 'dev-1', Organization: 'acme', OrganizationalUnit: 'x' }, defaults).ok).toBe(true);
  });

  it('does not touch the parameters it is given', () => {
    const params: TemplateParameters = Object.freeze({ CommonName: 'dev-1', Organization: 'acme', OrganizationalUnit: 'x' });
    expect(fillProvisioningTemplate(template, params, defaults).ok).toBe(true);
  });
});
