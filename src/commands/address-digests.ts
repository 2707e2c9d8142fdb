// The one thing `users import` keeps per row: a 53-bit digest of its
// canonical address and the line it was on, to tell a row repeated in the
// file. An open-addressing table in two typed arrays (12 bytes a slot, at
// most half full): a million rows take 24 MiB and give the garbage collector
// nothing to trace, where a Map of numbers took several times that.
import { createHash } from 'node:crypto';

export class AddressDigests {
  #keys = new Float64Array(1 << 16);
  #lines = new Uint32Array(1 << 16);
  #size = 0;

  /** The line an address was first seen on, or undefined (and it is remembered on `line`). */
  firstLine(canonical: string, line: number): number | undefined {
    const digest = createHash('sha256').update(canonical).digest();
    // Never 0: 0 marks an empty slot.
    const key = digest.readUInt32BE(0) * 2 ** 21 + (digest.readUInt32BE(4) >>> 11) + 1;
    const mask = this.#keys.length - 1;
    let slot = key % this.#keys.length;
    while (this.#keys[slot] !== 0) {
      if (this.#keys[slot] === key) return this.#lines[slot];
      slot = (slot + 1) & mask;
    }
    this.#keys[slot] = key;
    this.#lines[slot] = line;
    this.#size += 1;
    if (this.#size * 2 > this.#keys.length) this.#grow();
    return undefined;
  }

  #grow(): void {
    const keys = this.#keys;
    const lines = this.#lines;
    this.#keys = new Float64Array(keys.length * 2);
    this.#lines = new Uint32Array(keys.length * 2);
    const mask = this.#keys.length - 1;
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i]!;
      if (key === 0) continue;
      let slot = key % this.#keys.length;
      while (this.#keys[slot] !== 0) slot = (slot + 1) & mask;
      this.#keys[slot] = key;
      this.#lines[slot] = lines[i]!;
    }
  }
}
