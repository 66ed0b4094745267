// A short fingerprint of a table's numbers, so that a resumed run can tell that its file changed since the
// checkpoint was saved (the split, the scaler and the batches would then differ): FNV-1a (32 bits, Fowler, Noll
// and Vo; http://www.isthe.com/chongo/tech/comp/fnv/) over the bytes of the arrays, one 32-bit word at a time.
// A check against mistakes, not against someone forging a file.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mix(hash: number, view: ArrayBufferView): number {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const aligned = view.byteOffset % 4 === 0 ? view.byteLength >> 2 : 0;
  const words = new Uint32Array(view.buffer, view.byteOffset, aligned);
  let h = hash;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], FNV_PRIME);
  for (let i = aligned * 4; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME);
  return h >>> 0;
}

/** 8 hexadecimal digits for the arrays' bytes, in order (their lengths included, so a row moved between them shows). */
export function tableFingerprint(...arrays: ArrayBufferView[]): string {
  let h = FNV_OFFSET;
  for (const a of arrays) h = mix(mix(h, Uint32Array.of(a.byteLength)), a);
  return h.toString(16).padStart(8, '0');
}
