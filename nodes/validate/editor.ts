/* validate editor: rules per tag (editable list + JSON import), optional JSON schema / CNC envelope. */
import type { ValidateConfig, ValidateRuleRow } from "./types";

declare const RED: import("node-red__editor-client").RED;

const RULE_KEYS = ["tag", "required", "type", "min", "max", "maxRate", "staleMs", "quality"];

/** Light check in the editor (the runtime checks everything at deploy and says what is wrong). */
function rulesProblem(v: unknown): string | undefined {
  if (v === undefined || v === null || String(v).trim() === "") return undefined;
  let list: unknown;
  try {
    list = JSON.parse(String(v));
  } catch (err) {
    return (err as Error).message;
  }
  if (!Array.isArray(list)) return "not a JSON array";
  const seen: Record<string, boolean> = {};
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as Record<string, unknown> | null;
    if (r === null || typeof r !== "object" || Array.isArray(r)) return `rule ${i + 1} is not an object`;
    if (typeof r.tag !== "string" || r.tag.trim() === "") return `rule ${i + 1} has no tag`;
    if (seen[r.tag.trim()]) return `tag "${r.tag}" has more than one rule`;
    seen[r.tag.trim()] = true;
    for (const k of Object.keys(r)) if (RULE_KEYS.indexOf(k) < 0) return `rule ${i + 1}: unknown setting "${k}"`;
    for (const k of ["min", "max", "maxRate", "staleMs"]) {
      const n = r[k];
      if (n !== undefined && n !== null && (typeof n !== "number" || !isFinite(n))) return `rule ${i + 1}: ${k}`;
    }
    if (typeof r.min === "number" && typeof r.max === "number" && r.min > r.max) return `rule ${i + 1}: min > max`;
  }
  return undefined;
}

function validRules(v: string): boolean {
  return rulesProblem(v) === undefined;
}

function validSchema(this: { schema?: string }, v: string): boolean {
  const mode = ($("#node-input-schema").val() as string | undefined) ?? this.schema;
  if (mode !== "custom") return true;
  try {
    const o = JSON.parse(String(v)) as unknown;
    return typeof o === "boolean" || (o !== null && typeof o === "object" && !Array.isArray(o));
  } catch {
    return false;
  }
}

function validInt(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    const n = Number(v);
    return String(v).trim() !== "" && Number.isInteger(n) && n >= min && n <= max;
  };
}

function numOrUndefined(v: unknown): number | undefined {
  const s = String(v ?? "").trim();
  if (s === "") return undefined;
  const n = Number(s);
  return isFinite(n) ? n : undefined;
}

RED.nodes.registerType<ValidateConfig>("validate", {
  category: "LineGuard",
  color: "#a6d99b",
  defaults: {
    name: { value: "" },
    rules: { value: "[]", validate: validRules },
    schema: { value: "none" },
    customSchema: { value: "", validate: validSchema },
    schemaTarget: { value: "record" },
    convert: { value: true },
    unknownTags: { value: "pass" },
    flags: { value: true },
    maxSources: { value: 1000, validate: validInt(1, 1000000) },
    errorOnReject: { value: true },
    version: { value: 1 },
  },
  inputs: 1,
  outputs: 2,
  icon: "lineguard.svg",
  label: function () {
    if (this.name) return this.name;
    try {
      const n = (JSON.parse(this.rules || "[]") as unknown[]).length;
      return n > 0 ? `validate (${n})` : "validate";
    } catch {
      return "validate";
    }
  },
  labelStyle: function () {
    return this.name ? "node_label_italic" : "";
  },
  outputLabels: function (i: number) {
    return this._(i === 0 ? "validate.outputs.valid" : "validate.outputs.rejected");
  },
  oneditprepare: function () {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const node = this;
    const list = $("#node-input-rules-container");
    const t = (k: string): string => node._(`validate.${k}`);

    const field = (cls: string, width: string, value: unknown, placeholder = ""): JQuery =>
      $('<input type="text"/>')
        .addClass(cls)
        .css({ width, marginRight: "4px" })
        .attr("placeholder", placeholder)
        .val(value === undefined || value === null ? "" : String(value));

    list.css({ "min-height": "150px", "min-width": "560px" }).editableList({
      addItem: function (container: JQuery, _i: number, data: ValidateRuleRow) {
        const row = $("<div/>").css({ display: "flex", alignItems: "center", flexWrap: "wrap" }).appendTo(container);
        field("lg-v-tag", "130px", data.tag, t("placeholder.tag")).appendTo(row);
        $("<label/>")
          .css({ width: "auto", margin: "0 6px 0 0" })
          .append($('<input type="checkbox" class="lg-v-required"/>').css({ width: "auto", margin: "0 3px 0 0" }))
          .append($("<span/>").text(t("label.required")))
          .appendTo(row);
        const type = $('<select class="lg-v-type"/>').css({ width: "90px", marginRight: "4px" }).appendTo(row);
        for (const o of ["", "number", "string", "boolean"]) {
          $("<option/>")
            .val(o)
            .text(t(`type.${o || "any"}`))
            .appendTo(type);
        }
        type.val(data.type ?? "");
        field("lg-v-min", "70px", data.min, t("label.min")).appendTo(row);
        field("lg-v-max", "70px", data.max, t("label.max")).appendTo(row);
        field("lg-v-maxRate", "80px", data.maxRate, t("label.maxRate")).appendTo(row);
        field("lg-v-staleMs", "75px", data.staleMs, t("label.staleMs")).appendTo(row);
        const q = $('<select class="lg-v-quality"/>').css({ width: "120px" }).appendTo(row);
        for (const o of ["", "good", "good+uncertain"]) {
          $("<option/>")
            .val(o)
            .text(t(`quality.${o || "any"}`))
            .appendTo(q);
        }
        const qv = Array.isArray(data.quality) ? data.quality.join("+") : "";
        if (qv !== "" && qv !== "good" && qv !== "good+uncertain") $("<option/>").val(qv).text(qv).appendTo(q);
        q.val(qv);
        row.find(".lg-v-required").prop("checked", data.required === true);
      },
      removable: true,
      sortable: true,
    });

    const fill = (rules: ValidateRuleRow[]): void => {
      list.editableList("empty");
      for (const r of rules) list.editableList("addItem", r);
    };
    try {
      fill(JSON.parse(this.rules || "[]") as ValidateRuleRow[]);
    } catch {
      fill([]);
    }

    $("#validate-import-apply").on("click", () => {
      const text = String($("#validate-import").val() ?? "");
      const problem = rulesProblem(text);
      if (problem !== undefined) {
        RED.notify(node._("validate.errors.badImport", { error: problem }), "error");
        return;
      }
      fill(JSON.parse(text || "[]") as ValidateRuleRow[]);
    });

    const toggle = (): void => {
      const mode = String($("#node-input-schema").val());
      $(".lg-v-custom").toggle(mode === "custom");
      $(".lg-v-envelope").toggle(mode === "cnc-envelope");
    };
    $("#node-input-schema").on("change", toggle);
    toggle();
  },
  oneditsave: function () {
    const rules: ValidateRuleRow[] = [];
    $("#node-input-rules-container")
      .editableList("items")
      .each(function () {
        const row = $(this);
        const tag = String(row.find(".lg-v-tag").val() ?? "").trim();
        if (tag === "") return;
        const r: ValidateRuleRow = { tag };
        if (row.find(".lg-v-required").prop("checked")) r.required = true;
        const type = String(row.find(".lg-v-type").val() ?? "");
        if (type !== "") r.type = type as ValidateRuleRow["type"];
        const min = numOrUndefined(row.find(".lg-v-min").val());
        const max = numOrUndefined(row.find(".lg-v-max").val());
        const maxRate = numOrUndefined(row.find(".lg-v-maxRate").val());
        const staleMs = numOrUndefined(row.find(".lg-v-staleMs").val());
        if (min !== undefined) r.min = min;
        if (max !== undefined) r.max = max;
        if (maxRate !== undefined) r.maxRate = maxRate;
        if (staleMs !== undefined) r.staleMs = staleMs;
        const q = String(row.find(".lg-v-quality").val() ?? "");
        if (q !== "") r.quality = q.split("+") as ValidateRuleRow["quality"];
        rules.push(r);
      });
    $("#node-input-rules").val(JSON.stringify(rules));
  },
  oneditresize: function (size: { height: number }) {
    const rows = $("#dialog-form>div:not(.node-input-rules-container-row)");
    let height = size.height;
    rows.each(function () {
      height -= $(this).outerHeight(true) ?? 0;
    });
    $("#node-input-rules-container").editableList("height", Math.max(150, height - 40));
  },
});
