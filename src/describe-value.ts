/**
 * Printing untrusted values in error messages without running their code.
 */

/**
 * @internal A short, safe description of any value for an error message. `String()`,
 * `JSON.stringify()` and template literals would call an object's own `toString`/`valueOf`/
 * `Symbol.toPrimitive`/`toJSON` (which may throw or lie) and fail on a Symbol, a BigInt or a
 * null-prototype object; this never calls code of the value and never throws.
 *
 * @param value - anything
 * @param maxLength - strings longer than this are cut (with `…`)
 */
export function describeValue(value: unknown, maxLength = 80): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > maxLength ? `${value.slice(0, maxLength)}…` : value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
    case 'undefined':
    case 'symbol':
      // String() of a symbol is its descriptive string: no user code runs.
      return String(value);
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : isArray(value) ? 'an array' : 'an object';
  }
}

// Array.isArray throws on a revoked Proxy.
function isArray(value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}
