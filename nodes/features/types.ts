/** features: settings shared by the runtime and the editor (types only). */
export type FeaturesWindowType = "count" | "time";
export type FeaturesMode = "sliding" | "tumbling";
export type FeaturesTagsMode = "list" | "all";
export type FeaturesPolicy = "skip" | "hold" | "insufficient";
export type FeaturesEmit = "window" | "every";

export interface FeaturesConfig {
  name: string;
  windowType: FeaturesWindowType;
  /** samples (count) or milliseconds (time) */
  size: number | string;
  /** records (count) or milliseconds (time); sliding windows only */
  hop: number | string;
  mode: FeaturesMode;
  tagsMode: FeaturesTagsMode;
  /** comma-separated tag names (list mode) */
  tags: string;
  /** statistics to compute: mean, std, min, max, rms, p2p, skew, kurt, crest, z, slope, n */
  stats: string[];
  /** comma-separated "numerator/denominator" pairs, computed on window means */
  ratios: string;
  policy: FeaturesPolicy;
  uncertainIsBad: boolean;
  minSamples: number | string;
  /** ms; 0 = off */
  gapMs: number | string;
  gapReset: boolean;
  emit: FeaturesEmit;
  tensor: boolean;
  tensorSize: number | string;
  /** comma-separated; empty = the tag list */
  tensorTags: string;
  maxKeys: number | string;
  maxSamples: number | string;
  version: number;
}
