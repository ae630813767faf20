/**
 * Printing untrusted values in error messages without running their code.
 */

/**
 * @internal A short description of any value for an error message. `String()`, template
 * literals and `JSON.stringify()` would call an object's own `toString`/`valueOf`/`toJSON`
 * (which may throw, or not be callable at all, as on a null-prototype object) and fail on
 * symbols, BigInt and cycles; this never calls user code and never throws.
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value.toString()}n`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : Array.isArray(value) ? `an array of ${value.length}` : 'an object';
  }
}
