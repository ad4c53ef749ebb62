/**
 * opcua-endpoint: config node. Owns a lease on ONE pooled OPC UA client + session per endpoint
 * (url + security + user), shared by every opcua-in node (SharedConnection; the pool in
 * lib/opcua/connection.ts also shares between config nodes with identical settings).
 * Also serves the editor's browse requests: GET/POST /lineguard/opcua/browse.
 */
import type { Request, Response } from "express";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { browseChildren } from "../../lib/opcua/browse";
import { OpcuaConnection, opcuaPool } from "../../lib/opcua/connection";
import { EndpointSettings, endpointKey, endpointSecrets } from "../../lib/opcua/endpoint";
import { errorMessage } from "../../lib/errors";
import { redact } from "../../lib/redact";
import { SharedConnection } from "../shared/connection";
import { OpcuaEndpointApi, endpointSettings, opcuaEndpointConfig, userDirOf } from "./config";
import type { OpcuaEndpointConfig, OpcuaEndpointCredentials } from "./types";

type Lease = { conn: OpcuaConnection; release: () => Promise<void> };
type EndpointNode = Node<OpcuaEndpointCredentials> & OpcuaEndpointApi & { settings?: EndpointSettings };

const BROWSE_TIMEOUT = 10_000;

export = function (RED: NodeAPI): void {
  function OpcuaEndpointNode(this: Node<OpcuaEndpointCredentials>, def: NodeDef & Partial<OpcuaEndpointConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this as EndpointNode, def);
  }

  function setup(node: EndpointNode, def: NodeDef & Partial<OpcuaEndpointConfig>): void {
    const cfg = opcuaEndpointConfig(def);
    const creds: OpcuaEndpointCredentials = node.credentials ?? {};
    const secrets = (): string[] => endpointSecrets(creds);

    let configError: string | undefined;
    let settings: EndpointSettings | undefined;
    try {
      settings = endpointSettings(cfg, creds, userDirOf(RED.settings as { userDir?: unknown }));
    } catch (err) {
      configError = redact(errorMessage(err), secrets());
      node.error(RED._("opcua-endpoint.errors.badConfig", { error: configError }));
    }

    const conn = new SharedConnection<Lease>(
      () => {
        const s = settings!;
        const lease = opcuaPool.acquire(
          endpointKey(s),
          () =>
            new OpcuaConnection(s, {
              log: (level, text) => (level === "warn" ? node.warn(text) : node.debug(text)),
            }),
        );
        const onState = (st: string, detail?: string): void => {
          // broadcast: connected / reconnecting (connecting) / disconnected (error)
          if (st === "connected") conn.setState("connected");
          else if (st === "connecting" || st === "reconnecting") conn.setState("connecting", st);
          else if (st === "error") conn.setState("error", detail);
          else conn.setState("disconnected", detail);
        };
        lease.conn.on("state", onState);
        onState(lease.conn.state, lease.conn.detail);
        return {
          conn: lease.conn,
          release: async () => {
            lease.conn.off("state", onState);
            await lease.release();
          },
        };
      },
      (lease) => lease.release(),
    );

    const api: OpcuaEndpointApi = {
      configError,
      endpointUrl: String(cfg.endpointUrl ?? ""),
      secrets,
      register: (userId: string) => {
        if (configError || !settings) throw new Error(configError ?? "no configuration");
        return conn.register(userId).conn;
      },
      deregister: (userId: string) => conn.deregister(userId),
    };
    Object.assign(node, api);
    if (settings) node.settings = settings;

    node.on("close", (_removed: boolean, done: () => void) => {
      conn.close(5000).then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType<
    Node<OpcuaEndpointCredentials>,
    NodeDef & Partial<OpcuaEndpointConfig>,
    unknown,
    OpcuaEndpointCredentials
  >("opcua-endpoint", OpcuaEndpointNode, {
    credentials: {
      username: { type: "text" },
      password: { type: "password" },
    },
  });

  // ---- editor browse endpoint ----------------------------------------------------------------
  async function browseWith(
    res: Response,
    nodeId: string,
    run: (fn: (c: OpcuaConnection) => Promise<void>) => Promise<void>,
    secrets: string[],
  ): Promise<void> {
    try {
      await run(async (c) => {
        const children = await c.withSession((s) => browseChildren(s, nodeId || "i=85", 1000), BROWSE_TIMEOUT, true);
        res.json({ nodeId: nodeId || "i=85", children });
      });
    } catch (err) {
      res.status(502).json({ error: redact(errorMessage(err), secrets) });
    }
  }

  function deployed(id: unknown): EndpointNode | undefined {
    if (typeof id !== "string" || id === "") return undefined;
    const n = RED.nodes.getNode(id) as EndpointNode | null;
    return n && n.type === "opcua-endpoint" ? n : undefined;
  }

  // GET ?id=<deployed config node id>&nodeId=<node id>: browse with the deployed, shared session.
  RED.httpAdmin.get(
    "/lineguard/opcua/browse",
    RED.auth.needsPermission("opcua-endpoint.read"),
    (req: Request, res: Response) => {
      const n = deployed(req.query.id);
      if (!n) {
        res.status(404).json({ error: RED._("opcua-endpoint.errors.notDeployed") });
        return;
      }
      if (n.configError) {
        res.status(400).json({ error: n.configError });
        return;
      }
      const user = `browse-${Date.now()}-${Math.random()}`;
      void browseWith(
        res,
        String(req.query.nodeId ?? ""),
        async (fn) => {
          try {
            await fn(n.register(user));
          } finally {
            n.deregister(user);
          }
        },
        n.secrets(),
      );
    },
  );

  // POST {id?, endpoint: {...settings, username, password}, nodeId}: browse with settings not yet
  // deployed, over a short-lived connection of its own. A password "__PWRD__" (unchanged in the
  // editor) is taken from the deployed config node `id`.
  RED.httpAdmin.post(
    "/lineguard/opcua/browse",
    RED.auth.needsPermission("opcua-endpoint.read"),
    (req: Request, res: Response) => {
      const body = (req.body ?? {}) as { id?: unknown; nodeId?: unknown; endpoint?: Record<string, unknown> };
      const e = body.endpoint && typeof body.endpoint === "object" ? body.endpoint : {};
      const old = deployed(body.id);
      const oldCreds = (old?.credentials ?? {}) as OpcuaEndpointCredentials;
      const creds: OpcuaEndpointCredentials = {
        username: typeof e.username === "string" ? e.username : oldCreds.username,
        password: e.password === "__PWRD__" || e.password === undefined ? oldCreds.password : String(e.password),
      };
      let s: EndpointSettings;
      try {
        s = endpointSettings(opcuaEndpointConfig({ ...e, version: 1 }), creds, userDirOf(RED.settings as never));
      } catch (err) {
        res.status(400).json({ error: redact(errorMessage(err), endpointSecrets(creds)) });
        return;
      }
      void browseWith(
        res,
        typeof body.nodeId === "string" ? body.nodeId : "",
        async (fn) => {
          const c = new OpcuaConnection(s);
          c.start();
          try {
            await fn(c);
          } finally {
            await c.close();
          }
        },
        endpointSecrets(creds),
      );
    },
  );
};
