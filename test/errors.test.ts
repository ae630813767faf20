import { describe, expect, it } from 'vitest';
import { FleetError, isFleetError } from '../src/errors.js';

describe('FleetError', () => {
  it('carries code, status, details and cause', () => {
    const cause = new Error('root');
    const e = new FleetError('VERSION_CONFLICT', 'Version conflict', { status: 409, details: { expected: 3 }, cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('FleetError');
    expect(e.code).toBe('VERSION_CONFLICT');
    expect(e.status).toBe(409);
    expect(e.details).toEqual({ expected: 3 });
    expect(e.cause).toBe(cause);
    expect(e.toJSON()).toEqual({ name: 'FleetError', code: 'VERSION_CONFLICT', status: 409, message: 'Version conflict', details: { expected: 3 } });
  });

  it('is recognised across duplicate package copies by its Symbol.for brand', () => {
    const foreign = Object.assign(new Error('x'), { code: 'INTERNAL', [Symbol.for('fleetkit.FleetError')]: true });
    expect(isFleetError(foreign)).toBe(true);
    expect(isFleetError(foreign, 'INTERNAL')).toBe(true);
    expect(isFleetError(foreign, 'TIMEOUT')).toBe(false);
    expect(isFleetError(new Error('plain'))).toBe(false);
    expect(isFleetError({ code: 'INTERNAL' })).toBe(false);
    expect(isFleetError(null)).toBe(false);
    expect(isFleetError('INTERNAL')).toBe(false);
  });
});
