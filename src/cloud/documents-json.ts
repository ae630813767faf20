/**
 * @internal The `/update/documents` payload carries the previous and the current document. The
 * previous one is, as a rule, the current one of the thing's last update, already serialised
 * then: this keeps the JSON of recent `current` sections (a bounded number, each used once) and
 * splices it in, so a document is serialised once per update instead of twice. The text is the
 * same as `JSON.stringify(documents)` (same keys, same order).
 */
import type { DocumentsPayload, ShadowSnapshot } from '../shadow/types.js';

interface Remembered {
  readonly metadata: object;
  readonly version: number;
  readonly json: string;
}

/** @internal */
export class DocumentsJson {
  // Keyed by the section's state object: a stored document's state is frozen and keeps its identity.
  readonly #recent = new Map<object, Remembered>();
  readonly #capacity: number;

  constructor(capacity = 4096) {
    this.#capacity = capacity;
  }

  /** `JSON.stringify(documents)`, reusing the previous section's JSON when it is remembered. */
  stringify(documents: DocumentsPayload): string {
    let out = '{';
    for (const key of Object.keys(documents)) {
      const value = (documents as unknown as Record<string, unknown>)[key];
      if (value === undefined) continue;
      let json: string;
      if (key === 'previous' && value !== null) json = this.#previous(value as ShadowSnapshot);
      else if (key === 'current') json = this.#current(value as ShadowSnapshot);
      else json = JSON.stringify(value);
      out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${json}`;
    }
    return `${out}}`;
  }

  #previous(section: ShadowSnapshot): string {
    const hit = this.#recent.get(section.state);
    if (hit === undefined) return JSON.stringify(section);
    this.#recent.delete(section.state);
    return hit.metadata === section.metadata && hit.version === section.version ? hit.json : JSON.stringify(section);
  }

  #current(section: ShadowSnapshot): string {
    const json = JSON.stringify(section);
    const recent = this.#recent;
    recent.set(section.state, { metadata: section.metadata, version: section.version, json });
    if (recent.size > this.#capacity) {
      const oldest = recent.keys().next();
      if (oldest.done !== true) recent.delete(oldest.value);
    }
    return json;
  }
}
