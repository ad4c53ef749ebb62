/**
 * The glass simulator's OPC UA view of the same line(s) (node-opcua), following the CNC server
 * (lib/sim/cnc/opcua-server.ts): Objects/Glass/<line>/<Section>/<tag> (sections Line, Furnace,
 * TinBath, Lehr, Ribbon, Alarms) with NodeIds s=Glass/<line>/<tag>, proper DataTypes, source
 * timestamps and StatusCodes, optional Objects/Glass/<line>/Labels/*, and the methods
 * InjectFailure(type, rampSeconds), ClearFailure() and StartMaintenance() on each line object.
 * Binds 127.0.0.1 by default (port 4841); PKI in a temp dir unless configured (never ~/.config).
 */
import crypto from "node:crypto";
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
import { freePort } from "../cnc/net";
import type { OpcuaSimOptions } from "../cnc/opcua-server";
import { GLASS_TAGS, GlassPlant, GlassSample, TagDataType, isGlassFailureType } from "./model";

export type { OpcuaSimOptions };

export const DEFAULT_GLASS_OPCUA_PORT = 4841;
export const GLASS_NAMESPACE_URI = "urn:lineguard:sim:glass";

/** NodeId string of a line variable, e.g. "s=Glass/glass-01/furnace_t1" (in the simulator's namespace). */
export function glassTagNodeId(line: string, tag: string): string {
  return `s=Glass/${line}/${tag}`;
}

const DATA_TYPES: Record<TagDataType, DataType> = {
  Double: DataType.Double,
  String: DataType.String,
  UInt32: DataType.UInt32,
  Int32: DataType.Int32,
  Boolean: DataType.Boolean,
};

function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash("sha256").update(a).digest();
  const hb = crypto.createHash("sha256").update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export class GlassOpcuaServer {
  private server: OPCUAServer | undefined;
  private readonly vars = new Map<string, { v: UAVariable; dataType: DataType }>();
  private readonly opts: OpcuaSimOptions;
  private port = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly plant: GlassPlant,
    opts: OpcuaSimOptions = {},
  ) {
    this.opts = opts;
  }

  get endpointUrl(): string {
    const host = this.opts.host ?? "127.0.0.1";
    return `opc.tcp://${host}:${this.port}${this.opts.resourcePath ?? "/UA/LineGuardGlass"}`;
  }

  get pkiDir(): string {
    return this.opts.pkiDir ?? path.join(os.tmpdir(), "lineguard-sim-pki-glass");
  }

  async start(): Promise<void> {
    if (this.server) return;
    const host = this.opts.host ?? "127.0.0.1";
    this.port = this.opts.port === 0 ? await freePort(host) : (this.opts.port ?? DEFAULT_GLASS_OPCUA_PORT);
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
      resourcePath: this.opts.resourcePath ?? "/UA/LineGuardGlass",
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
        isValidUser: (u: string, p: string) =>
          user !== undefined && sameSecret(u, user.username) && sameSecret(p, user.password),
      },
      buildInfo: { productName: "LineGuard glass line simulator", manufacturerName: "LineGuard" },
      serverInfo: { applicationUri: GLASS_NAMESPACE_URI + ":server", productUri: GLASS_NAMESPACE_URI },
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
    const glass = ns.addFolder(addressSpace.rootFolder.objects, { browseName: "Glass", nodeId: "s=Glass" });
    const labels = this.plant.labels;
    for (const line of this.plant.lines) {
      const obj = ns.addObject({ organizedBy: glass, browseName: line.id, nodeId: `s=Glass/${line.id}` });
      const sections = new Map<string, UAObject>();
      const add = (parent: UAObject, name: string, key: string, type: TagDataType, desc: string) => {
        const dataType = DATA_TYPES[type];
        const v = ns.addVariable({
          componentOf: parent,
          browseName: name,
          nodeId: glassTagNodeId(line.id, key),
          dataType: DataType[dataType],
          description: desc,
          minimumSamplingInterval: 10,
        });
        const initial = dataType === DataType.String ? "" : dataType === DataType.Boolean ? false : 0;
        v.setValueFromSource(new Variant({ dataType, value: initial }), StatusCodes.UncertainInitialValue);
        this.vars.set(`${line.id}/${key}`, { v, dataType });
      };
      for (const t of GLASS_TAGS) {
        let sec = sections.get(t.section);
        if (!sec) {
          sec = ns.addObject({ componentOf: obj, browseName: t.section, nodeId: `s=Glass/${line.id}/${t.section}` });
          sections.set(t.section, sec);
        }
        add(sec, t.name, t.name, t.dataType, `${t.description}${t.unit ? ` (${t.unit})` : ""}`);
      }
      if (labels) {
        const lab = ns.addObject({ componentOf: obj, browseName: "Labels", nodeId: `s=Glass/${line.id}/Labels` });
        add(lab, "Anomaly", "Labels/Anomaly", "Boolean", "ground truth: a failure is present");
        add(lab, "FailureType", "Labels/FailureType", "String", "ground truth: failure type or none");
        add(lab, "Severity", "Labels/Severity", "Double", "ground truth: failure severity 0..1");
      }
      this.addMethods(ns, obj, line.id);
    }
  }

  private addMethods(ns: Namespace, obj: UAObject, id: string): void {
    const bind = (browseName: string, inputArguments: ArgumentOptions[], fn: (args: Variant[]) => StatusCode) => {
      const method = ns.addMethod(obj, {
        browseName,
        nodeId: `s=Glass/${id}/${browseName}`,
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
        {
          name: "type",
          dataType: DataType.String,
          description:
            "furnace-zone-drift, burner-failure, tin-bath-contamination, lehr-cooling-fault or thickness-drift",
        },
        { name: "rampSeconds", dataType: DataType.Double, description: "time to full severity, s" },
      ],
      (args) => {
        const type = args[0]?.value as unknown;
        const ramp = args[1]?.value as unknown;
        if (!isGlassFailureType(type) || typeof ramp !== "number" || !Number.isFinite(ramp) || ramp < 0) {
          return StatusCodes.BadInvalidArgument;
        }
        this.plant.get(id).inject(type, ramp);
        return StatusCodes.Good;
      },
    );
    bind("ClearFailure", [], () => {
      this.plant.get(id).clear();
      return StatusCodes.Good;
    });
    bind("StartMaintenance", [], () => {
      this.plant.get(id).startMaintenance();
      return StatusCodes.Good;
    });
  }

  /** Publish the latest samples into the address space. */
  update(samples: readonly GlassSample[]): void {
    if (!this.server) return;
    for (const s of samples) {
      const when = new Date(s.ts);
      for (const t of GLASS_TAGS) {
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
