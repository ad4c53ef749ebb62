/* opcua-endpoint editor: a config node holding the endpoint URL, security and user. */
import type { OpcuaEndpointConfig, OpcuaEndpointCredentials } from "./types";

declare const RED: import("@node-red/editor-client").RED;

const URL_RE = /^opc\.tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?(\/.*)?$/;

RED.nodes.registerType<OpcuaEndpointConfig, OpcuaEndpointCredentials>("opcua-endpoint", {
  category: "config",
  color: "#a6bbcf",
  defaults: {
    name: { value: "" },
    endpointUrl: {
      value: "opc.tcp://127.0.0.1:4840",
      required: true,
      validate: (v: string) => URL_RE.test(String(v ?? "").trim()),
    },
    securityMode: { value: "None" },
    securityPolicy: {
      value: "None",
      validate: function (this: OpcuaEndpointConfig, v: string) {
        const mode = $("#node-config-input-securityMode").length
          ? String($("#node-config-input-securityMode").val())
          : this.securityMode;
        return (mode === "None") === (v === "None");
      },
    },
    auth: { value: "anonymous" },
    autoAcceptCertificate: { value: false },
    pkiFolder: { value: "lineguard-pki/opcua" },
    sessionTimeout: {
      value: 60000,
      validate: (v: string) => {
        const n = Number(v);
        return Number.isInteger(n) && n >= 1000 && n <= 3600000;
      },
    },
    version: { value: 1 },
  },
  credentials: {
    username: { type: "text" },
    password: { type: "password" },
  },
  icon: "lineguard.svg",
  label: function () {
    return this.name || this.endpointUrl || "opcua-endpoint";
  },
  oneditprepare: function () {
    const toggle = (): void => {
      $("#opcua-endpoint-user").toggle($("#node-config-input-auth").val() === "username");
      const none = $("#node-config-input-securityMode").val() === "None";
      if (none) $("#node-config-input-securityPolicy").val("None");
      else if ($("#node-config-input-securityPolicy").val() === "None")
        $("#node-config-input-securityPolicy").val("Basic256Sha256");
    };
    $("#node-config-input-auth").on("change", toggle);
    $("#node-config-input-securityMode").on("change", toggle);
    toggle();
  },
});
