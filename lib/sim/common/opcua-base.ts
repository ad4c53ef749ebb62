/**
 * What the simulators' OPC UA servers share (node-opcua): server setup with every security policy
 * and mode, PKI under a configurable root (a temp dir by default, never ~/.config), anonymous and/or
 * one username/password user, Objects/<Root>/<unit>/... variables with proper DataTypes, source
 * timestamps and StatusCodes, optional <unit>/Labels/*, and the methods InjectFailure(type,
 * rampSeconds), ClearFailure() and StartMaintenance() on each unit object. Binds 127.0.0.1 by default.
 */
import os from "node:os";
import path from "node:path";
import {
  ArgumentOptions,
  CallMethodResultOptions,
  DataType,
  ISessionContext,
  MessageSecurityMode,
  Namespace,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCode,
  StatusCodes,
  UAObject,
  UAVariable,
  Variant,
} from "node-opcua";
import type { Quality } from "../../record";
import type { FailureLabels } from "./model";
import { freePort } from "./net";
import { sameSecret } from "./secret";

export interface OpcuaSimOptions {
  /** TCP port; 0 picks a free one. Default: the simulator's (4840 CNC, 4841 glass). */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** PKI root (server certificate, trusted/rejected client certificates). Default <tmpdir>/lineguard-sim-pki[-glass]. */
  pkiDir?: string;
  /** Allow anonymous sessions. Default true. */
  allowAnonymous?: boolean;
  /** An optional username/password user. */
  user?: { username: string; password: string };
  /** Default /UA/LineGuardSim (CNC), /UA/LineGuardGlass (glass). */
  resourcePath?: string;
  /** Accept any client certificate (test/demo convenience). Default true. */
  trustAllClients?: boolean;
}

export type SimDataType = "Double" | "String" | "UInt32" | "Int32" | "Boolean";

const DATA_TYPES: Record<SimDataType, DataType> = {
  Double: DataType.Double,
  String: DataType.String,
  UInt32: DataType.UInt32,
  Int32: DataType.Int32,
  Boolean: DataType.Boolean,
};

/** A published tag. */
export interface SimTagInfo<K extends string> {
  name: K;
  dataType: SimDataType;
  unit: string;
  description: string;
}

/** A sample as the server publishes it. */
export interface SimTagSample<K extends string> {
  id: string;
  ts: number;
  values: Record<K, unknown>;
  quality: Partial<Record<K, Quality>>;
  labels?: FailureLabels<string>;
}

/** What the methods act on. */
export interface FailureTarget<T extends string> {
  inject(type: T, rampSeconds: number): void;
  clear(): void;
  startMaintenance(): void;
}

/** The model behind a server: its units and their failures. */
export interface SimUnits<T extends string> {
  readonly labels: boolean;
  unitIds(): readonly string[];
  get(id: string): FailureTarget<T>;
}

/** How a simulator's server differs. */
export interface SimServerProfile<K extends string, T extends string> {
  /** Folder under Objects and first part of every NodeId ("CNC", "Glass"). */
  root: string;
  namespaceUri: string;
  productName: string;
  defaultPort: number;
  defaultResourcePath: string;
  /** Directory name of the default PKI root under the temp dir. */
  defaultPkiName: string;
  tags: readonly SimTagInfo<K>[];
  failureTypesText: string;
  isFailureType(v: unknown): v is T;
}

/** The NodeId string of a unit variable (in the simulator's namespace), e.g. "s=CNC/cnc-01/spindle_load". */
export function unitTagNodeId(root: string, unit: string, tag: string): string {
  return `s=${root}/${unit}/${tag}`;
}

/** An OPC UA server over a simulator's units; subclasses place the tags (`addTags`). */
export abstract class SimOpcuaServer<K extends string, T extends string> {
  private server: OPCUAServer | undefined;
  private readonly vars = new Map<string, { v: UAVariable; dataType: DataType }>();
  private port = 0;
  private stopping: Promise<void> | undefined;

  protected constructor(
    private readonly profile: SimServerProfile<K, T>,
    private readonly units: SimUnits<T>,
    private readonly opts: OpcuaSimOptions,
  ) {}

  get endpointUrl(): string {
    const host = this.opts.host ?? "127.0.0.1";
    return `opc.tcp://${host}:${this.port}${this.opts.resourcePath ?? this.profile.defaultResourcePath}`;
  }

  get pkiDir(): string {
    return this.opts.pkiDir ?? path.join(os.tmpdir(), this.profile.defaultPkiName);
  }

  async start(): Promise<void> {
    if (this.server) return;
    const p = this.profile;
    const host = this.opts.host ?? "127.0.0.1";
    this.port = this.opts.port === 0 ? await freePort(host) : (this.opts.port ?? p.defaultPort);
    const pki = this.pkiDir;
    const trustAll = this.opts.trustAllClients ?? true;
    const serverCertificateManager = new OPCUACertificateManager({
      rootFolder: path.join(pki, "server"),
      automaticallyAcceptUnknownCertificate: trustAll,
    });
    const userCertificateManager = new OPCUACertificateManager({
      rootFolder: path.join(pki, "user"),
      automaticallyAcceptUnknownCertificate: trustAll,
    });
    const user = this.opts.user;
    const server = new OPCUAServer({
      port: this.port,
      host,
      hostname: host,
      alternateHostname: [host],
      resourcePath: this.opts.resourcePath ?? p.defaultResourcePath,
      serverCertificateManager,
      userCertificateManager,
      certificateFile: path.join(pki, "server", "own", "certs", "server.pem"),
      privateKeyFile: path.join(pki, "server", "own", "private", "private_key.pem"),
      securityPolicies: [
        SecurityPolicy.None,
        SecurityPolicy.Basic256Sha256,
        SecurityPolicy.Aes128_Sha256_RsaOaep,
        SecurityPolicy.Aes256_Sha256_RsaPss,
      ],
      securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
      allowAnonymous: this.opts.allowAnonymous ?? true,
      userManager: {
        isValidUser: (u: string, pw: string) =>
          user !== undefined && sameSecret(u, user.username) && sameSecret(pw, user.password),
      },
      buildInfo: { productName: p.productName, manufacturerName: "LineGuard" },
      serverInfo: { applicationUri: p.namespaceUri + ":server", productUri: p.namespaceUri },
    });
    this.server = server;
    try {
      await server.initialize();
      this.buildAddressSpace(server);
      await server.start();
    } catch (err) {
      this.server = undefined;
      await server.shutdown(0).catch(() => undefined);
      throw err;
    }
  }

  private buildAddressSpace(server: OPCUAServer): void {
    const addressSpace = server.engine.addressSpace!;
    const ns = addressSpace.getOwnNamespace();
    const root = this.profile.root;
    const folder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: root, nodeId: `s=${root}` });
    for (const id of this.units.unitIds()) {
      const obj = ns.addObject({ organizedBy: folder, browseName: id, nodeId: `s=${root}/${id}` });
      this.addTags(ns, obj, id);
      if (this.units.labels) {
        const lab = ns.addObject({ componentOf: obj, browseName: "Labels", nodeId: `s=${root}/${id}/Labels` });
        this.addVariable(ns, lab, id, "Anomaly", "Labels/Anomaly", "Boolean", "ground truth: a failure is present");
        this.addVariable(
          ns,
          lab,
          id,
          "FailureType",
          "Labels/FailureType",
          "String",
          "ground truth: failure type or none",
        );
        this.addVariable(ns, lab, id, "Severity", "Labels/Severity", "Double", "ground truth: failure severity 0..1");
      }
      this.addMethods(ns, obj, id);
    }
  }

  /** Add the unit's tag variables (and anything else) under its object. */
  protected abstract addTags(ns: Namespace, obj: UAObject, id: string): void;

  /** A variable the server updates: browse name `name`, NodeId s=<Root>/<id>/<key>, initially uncertain. */
  protected addVariable(
    ns: Namespace,
    parent: UAObject,
    id: string,
    name: string,
    key: string,
    type: SimDataType,
    desc: string,
  ): void {
    const dataType = DATA_TYPES[type];
    const v = ns.addVariable({
      componentOf: parent,
      browseName: name,
      nodeId: unitTagNodeId(this.profile.root, id, key),
      dataType: DataType[dataType],
      description: desc,
      minimumSamplingInterval: 10,
    });
    const initial = dataType === DataType.String ? "" : dataType === DataType.Boolean ? false : 0;
    v.setValueFromSource(new Variant({ dataType, value: initial }), StatusCodes.UncertainInitialValue);
    this.vars.set(`${id}/${key}`, { v, dataType });
  }

  /** A tag's variable, described with its unit. */
  protected addTag(ns: Namespace, parent: UAObject, id: string, t: SimTagInfo<K>): void {
    this.addVariable(ns, parent, id, t.name, t.name, t.dataType, `${t.description}${t.unit ? ` (${t.unit})` : ""}`);
  }

  private addMethods(ns: Namespace, obj: UAObject, id: string): void {
    const root = this.profile.root;
    const bind = (browseName: string, inputArguments: ArgumentOptions[], fn: (args: Variant[]) => StatusCode) => {
      const method = ns.addMethod(obj, {
        browseName,
        nodeId: `s=${root}/${id}/${browseName}`,
        inputArguments,
        outputArguments: [],
      });
      // Three parameters: node-opcua's callback form.
      method.bindMethod(
        (
          args: Variant[],
          _context: ISessionContext,
          callback: (err: Error | null, r?: CallMethodResultOptions) => void,
        ) => {
          let statusCode: StatusCode;
          try {
            statusCode = fn(args);
          } catch {
            statusCode = StatusCodes.BadInvalidArgument;
          }
          callback(null, { statusCode, outputArguments: [] });
        },
      );
    };
    bind(
      "InjectFailure",
      [
        { name: "type", dataType: DataType.String, description: this.profile.failureTypesText },
        { name: "rampSeconds", dataType: DataType.Double, description: "time to full severity, s" },
      ],
      (args) => {
        const type = args[0]?.value as unknown;
        const ramp = args[1]?.value as unknown;
        if (!this.profile.isFailureType(type) || typeof ramp !== "number" || !Number.isFinite(ramp) || ramp < 0) {
          return StatusCodes.BadInvalidArgument;
        }
        this.units.get(id).inject(type, ramp);
        return StatusCodes.Good;
      },
    );
    bind("ClearFailure", [], () => {
      this.units.get(id).clear();
      return StatusCodes.Good;
    });
    bind("StartMaintenance", [], () => {
      this.units.get(id).startMaintenance();
      return StatusCodes.Good;
    });
  }

  /** Publish the latest samples into the address space. */
  update(samples: readonly SimTagSample<K>[]): void {
    if (!this.server) return;
    for (const s of samples) {
      const when = new Date(s.ts);
      for (const t of this.profile.tags) {
        const q = s.quality[t.name];
        const status =
          q === "uncertain"
            ? StatusCodes.UncertainSensorNotAccurate
            : q === "bad"
              ? StatusCodes.BadSensorFailure
              : StatusCodes.Good;
        this.set(`${s.id}/${t.name}`, s.values[t.name], status, when);
      }
      if (s.labels) {
        this.set(`${s.id}/Labels/Anomaly`, s.labels.anomaly, StatusCodes.Good, when);
        this.set(`${s.id}/Labels/FailureType`, s.labels.failure_type, StatusCodes.Good, when);
        this.set(`${s.id}/Labels/Severity`, s.labels.severity, StatusCodes.Good, when);
      }
    }
  }

  private set(key: string, value: unknown, status: StatusCode, when: Date): void {
    const entry = this.vars.get(key);
    if (!entry) return;
    entry.v.setValueFromSource(new Variant({ dataType: entry.dataType, value }), status, when);
  }

  /** Shut down (closes sessions and the listening socket). Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return this.stopping;
    this.server = undefined;
    this.vars.clear();
    this.stopping = server.shutdown(0);
    await this.stopping;
  }
}
