/** A small LRU map: the least recently used entry goes when the map is over its cap. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  private lastKey: K | undefined;
  evicted = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The value for `key` (marked as most recently used), or undefined. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined && key !== this.lastKey) {
      this.map.delete(key);
      this.map.set(key, v);
      this.lastKey = key;
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.lastKey = key;
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
      this.evicted++;
    }
  }

  delete(key: K): void {
    this.map.delete(key);
    if (key === this.lastKey) this.lastKey = undefined;
  }

  clear(): void {
    this.map.clear();
    this.lastKey = undefined;
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}
