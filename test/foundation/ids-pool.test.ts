import { describe, expect, it } from 'vitest';
import { newId } from '../../src/shared/ids.js';

describe('ids from pooled randomness', () => {
  it('stay unique across pool refills', () => {
    // Each new millisecond takes 10 fresh random bytes; 1,000 of them refill the pool twice.
    const start = Date.parse('2026-12-07T00:00:00Z');
    const ids = Array.from({ length: 1000 }, (_, i) => newId(start + i));

    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids.map((id) => id.slice(10))).size).toBe(ids.length);
  });
});
