/**
 * opcua-endpoint: defaults, migrations, settings and the runtime API opcua-in nodes use. No Node-RED import.
 */
import os from "node:os";
import path from "node:path";
import type { OpcuaConnection } from "../../lib/opcua/connection";
import { EndpointSettings, checkEndpoint, resolvePkiFolder } from "../../lib/opcua/endpoint";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { OpcuaEndpointConfig, OpcuaEndpointCredentials } from "./types";

export const OPCUA_ENDPOINT_VERSION = 1;

export const OPCUA_ENDPOINT_DEFAULTS: Omit<OpcuaEndpointConfig, "version"> = {
  name: "",
  endpointUrl: "opc.tcp://127.0.0.1:4840",
  securityMode: "None",
  securityPolicy: "None",
  auth: "anonymous",
  autoAcceptCertificate: false,
  pkiFolder: "lineguard-pki/opcua",
  sessionTimeout: 60000,
};

export const OPCUA_ENDPOINT_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: missing settings take their defaults; an old "url"
  // setting becomes endpointUrl; username credentials imply username auth.
  0: (c) => {
    const out: Record<string, unknown> = { ...c };
    if ((out.endpointUrl === undefined || out.endpointUrl === "") && typeof out.url === "string") {
      out.endpointUrl = out.url;
      delete out.url;
    }
    return fillDefaults(out, OPCUA_ENDPOINT_DEFAULTS, { emptyIsMissing: true });
  },
};

export function opcuaEndpointConfig(def: object): OpcuaEndpointConfig {
  return migrate<OpcuaEndpointConfig>(def, OPCUA_ENDPOINT_VERSION, OPCUA_ENDPOINT_MIGRATIONS);
}

/** Node-RED's userDir, or its default (~/.node-red) when the runtime has none. */
export function userDirOf(settings: { userDir?: unknown } | undefined): string {
  const u = settings?.userDir;
  return typeof u === "string" && u !== "" ? u : path.join(os.homedir(), ".node-red");
}

/** Check a (migrated) config + credentials; throws an Error saying what is wrong. */
export function endpointSettings(
  cfg: OpcuaEndpointConfig,
  creds: OpcuaEndpointCredentials,
  userDir: string,
): EndpointSettings {
  const timeout = Number(cfg.sessionTimeout);
  if (!Number.isInteger(timeout) || timeout < 1000 || timeout > 3_600_000) {
    throw new Error("session timeout must be 1000..3600000 ms");
  }
  return checkEndpoint({
    url: String(cfg.endpointUrl ?? ""),
    securityMode: cfg.securityMode,
    securityPolicy: cfg.securityPolicy,
    auth: cfg.auth,
    username: creds.username ?? "",
    password: creds.password ?? "",
    autoAcceptServerCertificate: cfg.autoAcceptCertificate === true || String(cfg.autoAcceptCertificate) === "true",
    pkiFolder: resolvePkiFolder(userDir, cfg.pkiFolder),
    sessionTimeout: timeout,
    applicationName: "LineGuard",
  });
}

/** What an opcua-endpoint node offers to opcua-in nodes. */
export interface OpcuaEndpointApi {
  /** Why the configuration cannot be used (redacted), or undefined. */
  readonly configError: string | undefined;
  readonly endpointUrl: string;
  secrets(): string[];
  /** The shared connection (created on first use); throws when the configuration is bad. */
  register(userId: string): OpcuaConnection;
  deregister(userId: string): void;
}
