/* features editor: rolling-window statistics per source and tag. */
import type { FeaturesConfig } from "./types";

declare const RED: import("@node-red/editor-client").RED;

const STATS = ["mean", "std", "min", "max", "rms", "p2p", "skew", "kurt", "crest", "z", "slope", "n"];

function validInt(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    if (v === undefined || v === null || String(v).trim() === "") return false;
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max;
  };
}

function validRatios(v: string): boolean {
  if (v === undefined || v === null) return true;
  return String(v)
    .split(/[,\n;]/)
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .every((p) => /^[^/\s]+\s*\/\s*[^/\s]+$/.test(p));
}

function validTags(this: { tagsMode?: string }, v: string): boolean {
  if ((this.tagsMode ?? "all") !== "list") return true;
  return String(v ?? "").trim() !== "";
}

RED.nodes.registerType<FeaturesConfig>("features", {
  category: "LineGuard",
  color: "#a6bbcf",
  defaults: {
    name: { value: "" },
    windowType: { value: "count" },
    size: { value: 100, validate: validInt(1, 604800000) },
    hop: { value: 1, validate: validInt(0, 604800000) },
    mode: { value: "sliding" },
    tagsMode: { value: "all" },
    tags: { value: "", validate: validTags },
    stats: { value: STATS.slice() },
    ratios: { value: "", validate: validRatios },
    policy: { value: "skip" },
    uncertainIsBad: { value: false },
    minSamples: { value: 2, validate: validInt(1, 1000000) },
    gapMs: { value: 0, validate: validInt(0, 604800000) },
    gapReset: { value: false },
    emit: { value: "window" },
    tensor: { value: false },
    tensorSize: { value: 50, validate: validInt(1, 100000) },
    tensorTags: { value: "" },
    maxKeys: { value: 1000, validate: validInt(1, 1000000) },
    maxSamples: { value: 10000, validate: validInt(1, 1000000) },
    version: { value: 1 },
  },
  inputs: 1,
  outputs: 2,
  icon: "lineguard.svg",
  label: function () {
    if (this.name) return this.name;
    const unit = this.windowType === "time" ? " ms" : "";
    return `features ${this.mode === "tumbling" ? "tumbling" : "sliding"} ${this.size}${unit}`;
  },
  labelStyle: function () {
    return this.name ? "node_label_italic" : "";
  },
  outputLabels: function (i: number) {
    return this._(i === 0 ? "features.outputs.features" : "features.outputs.rejected");
  },
  oneditprepare: function () {
    const selected = new Set(Array.isArray(this.stats) ? this.stats : STATS);
    const box = $("#features-stats");
    for (const s of STATS) {
      const id = `features-stat-${s}`;
      $("<label>", { style: "width: auto; margin-right: 10px;" })
        .append(
          $("<input>", { type: "checkbox", id, value: s, style: "width: auto; margin: 0 4px 0 0;" }).prop(
            "checked",
            selected.has(s),
          ),
        )
        .append(document.createTextNode(s))
        .appendTo(box);
    }
    const toggle = (): void => {
      $("#features-tags-row").toggle($("#node-input-tagsMode").val() === "list");
      $("#features-hop-row").toggle($("#node-input-mode").val() !== "tumbling");
      const time = $("#node-input-windowType").val() === "time";
      $(".features-size-unit").text(time ? "ms" : this._("features.label.samples"));
      $(".features-hop-unit").text(time ? "ms" : this._("features.label.records"));
      $(".features-tensor-row").toggle($("#node-input-tensor").is(":checked"));
    };
    $("#node-input-tagsMode, #node-input-mode, #node-input-windowType, #node-input-tensor").on("change", toggle);
    toggle();
  },
  oneditsave: function () {
    const stats: string[] = [];
    $("#features-stats input[type=checkbox]").each(function () {
      if ($(this).is(":checked")) stats.push(String($(this).val()));
    });
    this.stats = stats;
  },
});
