/**
 * @module state/interner
 * Shares equal values between loaded bans, found by their bytes, so that loading a million bans
 * makes no throwaway string per field and holds a handful of each mode, scan type and backend list.
 */

export class Interner<T> {
  static readonly LIMIT = 4096;
  readonly #slots = new Map<number, { bytes: Buffer; value: T }>();
  readonly #byText = new Map<string, T>();
  readonly #make: (text: string) => T;

  constructor(make: (text: string) => T) {
    this.#make = make;
  }

  fromBytes(buf: Buffer, start: number, end: number): T {
    let hash = 0x811c9dc5; // FNV-1a
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (buf[i] as number), 0x01000193);
    const slot = this.#slots.get(hash);
    if (slot !== undefined && sameBytes(slot.bytes, buf, start, end)) return slot.value;
    const value = this.#make(buf.toString('utf8', start, end));
    if (slot === undefined && this.#slots.size < Interner.LIMIT) {
      this.#slots.set(hash, { bytes: Buffer.from(buf.subarray(start, end)), value });
    }
    return value;
  }

  fromString(text: string): T {
    const known = this.#byText.get(text);
    if (known !== undefined) return known;
    const bytes = Buffer.from(text);
    const value = this.fromBytes(bytes, 0, bytes.length);
    if (this.#byText.size < Interner.LIMIT) this.#byText.set(text, value);
    return value;
  }
}

function sameBytes(bytes: Buffer, buf: Buffer, start: number, end: number): boolean {
  if (bytes.length !== end - start) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== buf[start + i]) return false;
  return true;
}
