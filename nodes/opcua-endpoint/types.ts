/** opcua-endpoint config node: settings and credentials, shared by the runtime and the editor (types only). */
export type OpcuaSecurityMode = "None" | "Sign" | "SignAndEncrypt";
export type OpcuaSecurityPolicy = "None" | "Basic256Sha256" | "Aes128_Sha256_RsaOaep" | "Aes256_Sha256_RsaPss";
export type OpcuaAuth = "anonymous" | "username";

export interface OpcuaEndpointConfig {
  name: string;
  /** opc.tcp://host:port/path */
  endpointUrl: string;
  securityMode: OpcuaSecurityMode;
  securityPolicy: OpcuaSecurityPolicy;
  auth: OpcuaAuth;
  /** Trust an unknown server certificate automatically (else move it from rejected/ to trusted/certs/). */
  autoAcceptCertificate: boolean;
  /** PKI folder; relative paths are under the Node-RED userDir. */
  pkiFolder: string;
  /** Requested session timeout, ms. */
  sessionTimeout: number | string;
  version: number;
}

export interface OpcuaEndpointCredentials {
  username?: string;
  password?: string;
}

/** One entry of the admin browse answer (GET/POST /lineguard/opcua/browse). */
export interface OpcuaBrowseEntry {
  nodeId: string;
  browseName: string;
  displayName: string;
  nodeClass: string;
  dataType?: string;
}
