/**
 * OPC UA endpoint settings: validation, the pool key, and the node-opcua client options.
 */
import path from "node:path";

export const SECURITY_MODES = ["None", "Sign", "SignAndEncrypt"] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
export const SECURITY_POLICIES = ["None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"] as const;
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];
export const AUTH_MODES = ["anonymous", "username"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export interface EndpointSettings {
  url: string;
  securityMode: SecurityModeName;
  securityPolicy: SecurityPolicyName;
  auth: AuthMode;
  username?: string;
  password?: string;
  /** Trust an unknown server certificate automatically (else it lands in pki/rejected). */
  autoAcceptServerCertificate: boolean;
  /** Absolute PKI folder (own/, trusted/, rejected/ live under it). */
  pkiFolder: string;
  /** Session timeout requested from the server, ms. */
  sessionTimeout: number;
  /** Application name reported to the server. */
  applicationName: string;
}

const URL_RE = /^opc\.tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?(\/.*)?$/;

export function validEndpointUrl(url: unknown): boolean {
  if (typeof url !== "string" || !URL_RE.test(url.trim())) return false;
  const m = /:(\d{1,5})(\/|$)/.exec(url.trim().replace(/^opc\.tcp:\/\//, "x"));
  return !m || Number(m[1]) <= 65535;
}

/** Check settings; throws an Error saying what is wrong (never containing the password). */
export function checkEndpoint(s: EndpointSettings): EndpointSettings {
  if (!validEndpointUrl(s.url)) throw new Error(`endpoint URL must look like opc.tcp://host:4840/path`);
  if (!(SECURITY_MODES as readonly string[]).includes(s.securityMode)) {
    throw new Error(`security mode must be one of ${SECURITY_MODES.join(", ")}`);
  }
  if (!(SECURITY_POLICIES as readonly string[]).includes(s.securityPolicy)) {
    throw new Error(`security policy must be one of ${SECURITY_POLICIES.join(", ")}`);
  }
  if ((s.securityMode === "None") !== (s.securityPolicy === "None")) {
    throw new Error('security mode "None" goes with policy "None" only (and a policy needs Sign or SignAndEncrypt)');
  }
  if (!(AUTH_MODES as readonly string[]).includes(s.auth)) throw new Error(`auth must be anonymous or username`);
  if (s.auth === "username" && !s.username) throw new Error("a username is required for username authentication");
  if (typeof s.pkiFolder !== "string" || !path.isAbsolute(s.pkiFolder)) {
    throw new Error("the PKI folder must be an absolute path");
  }
  return { ...s, url: s.url.trim() };
}

/** One session per distinct endpoint + security + user (the password is part of the identity). */
export function endpointKey(s: EndpointSettings): string {
  return JSON.stringify([
    s.url,
    s.securityMode,
    s.securityPolicy,
    s.auth,
    s.auth === "username" ? (s.username ?? "") : "",
    s.auth === "username" ? (s.password ?? "") : "",
    s.pkiFolder,
    s.autoAcceptServerCertificate,
  ]);
}

/** Resolve the PKI folder: relative names live under `base` (the Node-RED userDir). */
export function resolvePkiFolder(base: string, folder: string | undefined): string {
  const f = (folder ?? "").trim() || path.join("lineguard-pki", "opcua");
  const abs = path.resolve(base, f);
  return abs;
}

export function endpointSecrets(s: Pick<EndpointSettings, "password">): string[] {
  return s.password ? [s.password] : [];
}
