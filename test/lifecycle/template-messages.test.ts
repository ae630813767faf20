/**
 * fillProvisioningTemplate's refusals as exact messages and details (which parameter, from which
 * source, the value, the filled ids cut to 200 characters), the argument checks, and home rules:
 * the first matching rule wins, a rule matches only when every `when` value does, and with no
 * match and no fallback the device is refused.
 */
import { describe, expect, it } from 'vitest';
import { defineProvisioningTemplate, fillProvisioningTemplate } from '../../src/lifecycle/index.js';
import type { FilledTemplate } from '../../src/lifecycle/index.js';
import type { Result } from '../../src/errors.js';

const defaults = { deviceId: '{{CommonName}}', tenantId: '{{Organization}}' };
const plain = defineProvisioningTemplate({ name: 't' });
const UNSAFE = 'only letters, digits, ".", "_", ":" and "-", starting with a letter or digit';

function error(r: Result<FilledTemplate>): { code: string; status: number | undefined; message: string; details?: unknown } {
  if (r.ok) throw new Error('expected a refusal');
  return { code: r.error.code, status: r.error.status, message: r.error.message, details: r.error.details };
}

describe('fillProvisioningTemplate refusals', () => {
  it('a parameter the template uses but the identity lacks', () => {
    expect(error(fillProvisioningTemplate(plain, { Organization: 'acme' }, defaults))).toEqual({
      code: 'TEMPLATE_INVALID',
      status: 400,
      message: 'The template uses {{CommonName}}, but the device identity does not provide it',
      details: { parameter: 'CommonName' },
    });
  });

  it('a parameter value that is not acceptable names the source, the reason and the value', () => {
    expect(error(fillProvisioningTemplate(plain, { CommonName: 'a/b', Organization: 'acme' }, defaults, 'certificate subject'))).toEqual({
      code: 'TEMPLATE_INVALID',
      status: 400,
      message: `Template parameter {{CommonName}} from the certificate subject is not acceptable (${UNSAFE}); provisioning refused`,
      details: { parameter: 'CommonName', value: 'a/b' },
    });
    const long = `/${'x'.repeat(300)}`;
    expect(error(fillProvisioningTemplate(plain, { CommonName: long, Organization: 'acme' }, defaults)).details).toEqual({ parameter: 'CommonName', value: long.slice(0, 200) });
    expect(error(fillProvisioningTemplate(plain, { CommonName: 7 as never, Organization: 'acme' }, defaults)).details).toEqual({ parameter: 'CommonName', value: '7' });
  });

  it('filled ids that are not valid as a whole, cut to 200 characters in the message', () => {
    const joined = defineProvisioningTemplate({ name: 't', deviceId: '{{CommonName}}{{CommonName}}{{CommonName}}', tenantId: '{{Organization}}{{Organization}}{{Organization}}' });
    const id = 'x'.repeat(100);
    const e = error(fillProvisioningTemplate(joined, { CommonName: id, Organization: 'acme' }, defaults));
    expect(e).toEqual({ code: 'TEMPLATE_INVALID', status: 400, message: `The filled device id "${'x'.repeat(200)}" is not a valid thing name`, details: { deviceId: id + id + id } });
    const t = error(fillProvisioningTemplate(joined, { CommonName: 'dev', Organization: id }, defaults));
    expect(t).toEqual({ code: 'TEMPLATE_INVALID', status: 400, message: `The filled tenant id "${'x'.repeat(200)}" is not a valid tenant id`, details: { tenantId: id + id + id } });
  });

  it('arguments of the wrong type', () => {
    const tail = (r: Result<FilledTemplate>) => error(r).message;
    expect(tail(fillProvisioningTemplate(plain, null as never, defaults))).toBe('fillProvisioningTemplate: params must be an object of template parameters, got null');
    expect(tail(fillProvisioningTemplate(plain, {}, { deviceId: 'x' } as never))).toBe('fillProvisioningTemplate: defaults must be { deviceId, tenantId } templates (strings), got an object');
    expect(tail(fillProvisioningTemplate(plain, {}, { tenantId: 'x' } as never))).toBe('fillProvisioningTemplate: defaults must be { deviceId, tenantId } templates (strings), got an object');
    expect(tail(fillProvisioningTemplate(plain, {}, null as never))).toBe('fillProvisioningTemplate: defaults must be { deviceId, tenantId } templates (strings), got null');
    expect(tail(fillProvisioningTemplate(plain, {}, defaults, 5 as never))).toBe('fillProvisioningTemplate: source must be a string, got 5');
    expect(error(fillProvisioningTemplate({ name: 't' } as never, {}, defaults))).toEqual({
      code: 'INVALID_ARGUMENT',
      status: 400,
      message: 'The provisioning template was not created by defineProvisioningTemplate; pass defineProvisioningTemplate(definition)',
      details: undefined,
    });
  });

  it('defineProvisioningTemplate lists every issue, in the message and the details', () => {
    try {
      defineProvisioningTemplate({ name: '', extra: 1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({
        code: 'TEMPLATE_INVALID',
        status: 400,
        message: 'Invalid provisioning template: name: Too small: expected string to have >=1 characters; template: Unrecognized key: "extra"',
        details: {
          issues: [
            { path: ['name'], message: 'Too small: expected string to have >=1 characters' },
            { path: [], message: 'Unrecognized key: "extra"' },
          ],
        },
      });
    }
  });
});

describe('home rules', () => {
  const home = defineProvisioningTemplate({
    name: 'h',
    home: {
      rules: [
        { when: { Country: 'DE', State: 'BY' }, region: 'eu-south-1', endpoint: 'mqtts://by.example.com' },
        { when: { Country: 'DE' }, region: 'eu-central-1', endpoint: 'mqtts://eu.example.com:8883' },
      ],
      topics: { telemetry: 'tenants/{{TenantId}}/devices/{{DeviceId}}/t', cmd: 'c/{{DeviceId}}' },
    },
  });
  const fill = (extra: Record<string, string>) => fillProvisioningTemplate(home, { CommonName: 'dev', Organization: 'acme', ...extra }, defaults);

  it('the first rule whose every value matches wins; topics are filled', () => {
    const by = fill({ Country: 'DE', State: 'BY' });
    expect(by.ok && by.value.home).toEqual({ region: 'eu-south-1', endpoint: 'mqtts://by.example.com', topics: { telemetry: 'tenants/acme/devices/dev/t', cmd: 'c/dev' } });
    const be = fill({ Country: 'DE', State: 'BE' });
    expect(be.ok && be.value.home?.region).toBe('eu-central-1');
  });

  it('no match and no fallback: refused with the number of rules; with a fallback: the fallback', () => {
    expect(error(fill({ Country: 'US' }))).toEqual({
      code: 'TEMPLATE_INVALID',
      status: 400,
      message: 'No home rule matches this device and the template has no fallback; add a fallback target or a matching rule',
      details: { rules: 2 },
    });
    const withFallback = defineProvisioningTemplate({ name: 'f', home: { rules: [], fallback: { region: 'us-east-1', endpoint: 'mqtts://us.example.com' }, topics: {} } });
    const r = fillProvisioningTemplate(withFallback, { CommonName: 'dev', Organization: 'acme' }, defaults);
    expect(r.ok && r.value.home).toEqual({ region: 'us-east-1', endpoint: 'mqtts://us.example.com', topics: {} });
  });
});
