/**
 * Printing untrusted values in error messages without running their code.
 */

/**
 * A short, safe description of any value for an error message. `String()` and `JSON.stringify()`
 * would call an object's own `toString`/`valueOf`/`toJSON` (which may throw or lie) and fail on
 * BigInt or cycles; this never calls user code and never throws.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
    case 'bigint':
    case 'symbol':
      return String(value);
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  }
}
