// Seeded randomness for the fuzz suite: every case draws from a generator seeded by (seed, case
// index), so any one case can be replayed alone (`npm run fuzz -- --seed S --case N`).
import { nextRandom } from '../../test/emulator/faults.ts';

export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** [0, 1). */
  next(): number {
    const { value, state } = nextRandom(this.state);
    this.state = state;
    return value;
  }

  /** An integer in [0, below). */
  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** Mostly small, sometimes large: 1-4 nine times in ten, else up to `max`. */
  count(max: number): number {
    return this.chance(0.9) ? 1 + this.int(4) : 1 + this.int(max);
  }
}

/** The seed of one case: the run's seed and the case's index, mixed so neighbours differ. */
export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index, 0xc2b2ae35)) >>> 0;
}
