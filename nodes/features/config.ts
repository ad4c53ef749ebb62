/**
 * features: defaults, migrations and validation of the node's settings. No Node-RED import.
 */
import { FeatureOptions, STAT_NAMES, StatName, parseRatios, parseTagList } from "../../lib/features";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { FeaturesConfig } from "./types";
import { intSetting } from "../shared/settings";

export const FEATURES_VERSION = 1;

export const FEATURES_DEFAULTS: Omit<FeaturesConfig, "version"> = {
  name: "",
  windowType: "count",
  size: 100,
  hop: 1,
  mode: "sliding",
  tagsMode: "all",
  tags: "",
  stats: [...STAT_NAMES],
  ratios: "",
  policy: "skip",
  uncertainIsBad: false,
  minSamples: 2,
  gapMs: 0,
  gapReset: false,
  emit: "window",
  tensor: false,
  tensorSize: 50,
  tensorTags: "",
  maxKeys: 1000,
  maxSamples: 10000,
};

export const FEATURES_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: every missing setting takes its default.
  0: (c) => fillDefaults(c, FEATURES_DEFAULTS),
};

export function featuresConfig(def: object): FeaturesConfig {
  return migrate<FeaturesConfig>(def, FEATURES_VERSION, FEATURES_MIGRATIONS);
}

function oneOf<T extends string>(v: unknown, list: readonly T[], name: string): T {
  if (typeof v === "string" && (list as readonly string[]).includes(v)) return v as T;
  throw new Error(`${name} must be one of ${list.join(", ")}, got "${String(v)}"`);
}

function toBool(v: unknown): boolean {
  return v === true || v === "true";
}

/** Check a (migrated) config and turn it into engine options; throws an Error saying what is wrong. */
export function featuresOptions(cfg: FeaturesConfig): FeatureOptions {
  const windowType = oneOf(cfg.windowType, ["count", "time"] as const, "window type");
  const mode = oneOf(cfg.mode, ["sliding", "tumbling"] as const, "window mode");
  const maxSamples = intSetting(cfg.maxSamples, "max samples", 1, 1_000_000);
  const size =
    windowType === "count"
      ? intSetting(cfg.size, "window size", 1, maxSamples)
      : intSetting(cfg.size, "window size (ms)", 1, 7 * 24 * 3600 * 1000);
  const hop =
    mode === "tumbling"
      ? size
      : windowType === "count"
        ? intSetting(cfg.hop, "hop", 1, 1_000_000)
        : intSetting(cfg.hop, "hop (ms)", 0, 7 * 24 * 3600 * 1000);
  const tagsMode = oneOf(cfg.tagsMode, ["list", "all"] as const, "tags");
  const tags = parseTagList(cfg.tags);
  if (tagsMode === "list" && tags.length === 0) throw new Error("the tag list is empty");
  const rawStats = Array.isArray(cfg.stats) ? cfg.stats : parseTagList(cfg.stats);
  const stats: StatName[] = [];
  for (const s of rawStats) {
    if (!(STAT_NAMES as readonly string[]).includes(s)) throw new Error(`unknown statistic "${String(s)}"`);
    if (!stats.includes(s as StatName)) stats.push(s as StatName);
  }
  const ratios = parseRatios(cfg.ratios);
  if (stats.length === 0 && ratios.length === 0) throw new Error("no statistic and no ratio selected");
  const opts: FeatureOptions = {
    windowType,
    size,
    hop,
    mode,
    stats,
    ratios,
    policy: oneOf(cfg.policy, ["skip", "hold", "insufficient"] as const, "quality policy"),
    uncertainIsBad: toBool(cfg.uncertainIsBad),
    minSamples: intSetting(cfg.minSamples, "min samples", 1, maxSamples),
    gapMs: intSetting(cfg.gapMs, "gap (ms)", 0, 7 * 24 * 3600 * 1000),
    gapReset: toBool(cfg.gapReset),
    emit: oneOf(cfg.emit, ["window", "every"] as const, "output"),
    maxKeys: intSetting(cfg.maxKeys, "max sources", 1, 1_000_000),
    maxSamples,
    maxTags: 256,
  };
  if (tagsMode === "list") opts.tags = tags;
  if (toBool(cfg.tensor)) {
    const tensorTags = parseTagList(cfg.tensorTags);
    const t = tensorTags.length > 0 ? tensorTags : tags;
    if (t.length === 0) throw new Error("the window tensor needs its tags (tensor tags or the tag list)");
    opts.tensor = { size: intSetting(cfg.tensorSize, "tensor length T", 1, 100_000), tags: t };
  }
  return opts;
}
