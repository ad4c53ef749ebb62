/* opcua-in editor: node ids and/or a folder, subscription settings, and a browse list to pick variables. */
import type { OpcuaInConfig } from "./types";
import type { OpcuaBrowseEntry } from "../opcua-endpoint/types";

declare const RED: import("@node-red/editor-client").RED;

function validInt(min: number, max: number): (v: string) => boolean {
  return (v: string) => {
    const n = Number(v);
    return String(v ?? "").trim() !== "" && Number.isInteger(n) && n >= min && n <= max;
  };
}

RED.nodes.registerType<OpcuaInConfig>("opcua-in", {
  category: "LineGuard",
  color: "#a6bbcf",
  defaults: {
    name: { value: "" },
    endpoint: { value: "", type: "opcua-endpoint", required: true },
    nodeIds: { value: "" },
    folder: { value: "" },
    maxDepth: { value: 5, validate: validInt(1, 20) },
    maxVariables: { value: 1000, validate: validInt(1, 50000) },
    samplingInterval: { value: 250, validate: validInt(0, 3600000) },
    publishingInterval: { value: 500, validate: validInt(10, 3600000) },
    queueSize: { value: 10, validate: validInt(1, 10000) },
    deadband: { value: "none" },
    deadbandValue: { value: 0, validate: (v: string) => Number.isFinite(Number(v)) && Number(v) >= 0 },
    output: { value: "change" },
    groupWindow: { value: 100, validate: validInt(1, 60000) },
    sourceRule: { value: "parent" },
    source: { value: "" },
    version: { value: 1 },
  },
  inputs: 0,
  outputs: 2,
  outputLabels: ["records", "events (gap, rejected, item-error)"],
  icon: "lineguard.svg",
  label: function () {
    return this.name || this.folder || "opcua in";
  },
  paletteLabel: "opcua in",
  oneditprepare: function () {
    const toggle = (): void => {
      $("#opcua-in-deadband-value").toggle($("#node-input-deadband").val() !== "none");
      $("#opcua-in-group-window").toggle($("#node-input-output").val() === "group");
      $("#opcua-in-fixed-source").toggle($("#node-input-sourceRule").val() === "fixed");
    };
    $("#node-input-deadband, #node-input-output, #node-input-sourceRule").on("change", toggle);
    toggle();

    // ---- browse: list the children of a node through the endpoint; click an object to open it,
    // "+" to add a variable to the node ids, "folder" to use an object as the folder.
    const list = $("#opcua-in-browse-list");
    const pathStack: string[] = [];
    let current = "i=85";

    function request(nodeId: string): JQuery.jqXHR {
      const epId = String($("#node-input-endpoint").val() ?? "");
      const ep = RED.nodes.node(epId) as unknown as
        (Record<string, unknown> & { changed?: boolean; credentials?: Record<string, string> }) | null;
      if (ep && !ep.changed) {
        return $.getJSON("lineguard/opcua/browse", { id: epId, nodeId });
      }
      const creds = ep?.credentials ?? {};
      const endpoint = ep
        ? {
            endpointUrl: ep.endpointUrl,
            securityMode: ep.securityMode,
            securityPolicy: ep.securityPolicy,
            auth: ep.auth,
            autoAcceptCertificate: ep.autoAcceptCertificate,
            pkiFolder: ep.pkiFolder,
            sessionTimeout: ep.sessionTimeout,
            username: creds.username,
            password: ep.credentials && "password" in ep.credentials ? creds.password : "__PWRD__",
          }
        : {};
      return $.ajax({
        url: "lineguard/opcua/browse",
        method: "POST",
        contentType: "application/json",
        data: JSON.stringify({ id: epId, nodeId, endpoint }),
      });
    }

    function addNodeId(id: string): void {
      const ta = $("#node-input-nodeIds");
      const lines = String(ta.val() ?? "")
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "");
      if (!lines.includes(id)) lines.push(id);
      ta.val(lines.join("\n"));
    }

    function show(nodeId: string): void {
      current = nodeId;
      list.empty().append($("<li>").text("…"));
      $("#opcua-in-browse-path").text(nodeId);
      request(nodeId)
        .done((data: { children: OpcuaBrowseEntry[] }) => {
          list.empty();
          for (const c of data.children ?? []) {
            const li = $("<li>").css({ listStyle: "none", padding: "2px 0" });
            const icon = c.nodeClass === "Variable" ? "fa-tag" : "fa-folder-o";
            const name = $("<a href='#'>")
              .append($("<i>").addClass(`fa ${icon}`), " ", $("<span>").text(c.browseName))
              .on("click", (e) => {
                e.preventDefault();
                if (c.nodeClass === "Object") {
                  pathStack.push(current);
                  show(c.nodeId);
                }
              });
            li.append(name);
            if (c.dataType) li.append($("<span>").css({ color: "#888", marginLeft: "6px" }).text(c.dataType));
            if (c.nodeClass === "Variable") {
              li.append(
                $("<button type='button' class='red-ui-button red-ui-button-small'>")
                  .css({ marginLeft: "6px" })
                  .text(RED._("opcua-in.label.add"))
                  .on("click", () => addNodeId(c.nodeId)),
              );
            } else {
              li.append(
                $("<button type='button' class='red-ui-button red-ui-button-small'>")
                  .css({ marginLeft: "6px" })
                  .text(RED._("opcua-in.label.useAsFolder"))
                  .on("click", () => $("#node-input-folder").val(c.nodeId)),
              );
            }
            list.append(li);
          }
        })
        .fail((xhr: JQuery.jqXHR) => {
          const err = (xhr.responseJSON as { error?: string } | undefined)?.error ?? xhr.statusText;
          list.empty().append(
            $("<li>")
              .css({ color: "#c00" })
              .text(RED._("opcua-in.errors.browseFailed", { error: err })),
          );
        });
    }

    $("#opcua-in-browse").on("click", () => {
      pathStack.length = 0;
      $("#opcua-in-browse-panel").show();
      show(String($("#node-input-folder").val() ?? "").trim() || "i=85");
    });
    $("#opcua-in-browse-up").on("click", () => {
      const prev = pathStack.pop();
      if (prev) show(prev);
    });
  },
});
