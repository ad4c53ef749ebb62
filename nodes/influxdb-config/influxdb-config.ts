/**
 * influxdb-config: one InfluxDB server (URL, API version, org or database/retention policy, TLS,
 * timeout) and its secrets (credentials only). Owns the shared HTTP client and broadcasts the
 * server's reachability to the influxdb-out nodes that use it.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { InfluxClient, Reachability, resolveConnection } from "../../lib/sinks/influx";
import { SharedConnection } from "../shared/connection";
import { InfluxConfigRuntime, migrateConfig } from "./config";
import type { InfluxConfigCredentials, InfluxConfigProps } from "./types";

type Def = NodeDef & Partial<InfluxConfigProps>;

/** How long the config node waits for its sinks to close before it closes the client. */
const USERS_CLOSE_WAIT_MS = 6000;

export = function (RED: NodeAPI): void {
  function InfluxConfigNode(this: InfluxConfigRuntime, def: Def): void {
    RED.nodes.createNode(this, def);

    this.settings = migrateConfig(def);
    const creds: InfluxConfigCredentials = this.credentials ?? {};
    let secrets: readonly string[] = [creds.token, creds.password].filter(
      (s): s is string => typeof s === "string" && s !== "",
    );
    try {
      this.conn = resolveConnection(this.settings, creds);
      secrets = this.conn.secrets;
    } catch (err) {
      this.configError = err instanceof Error ? err : new Error(String(err));
    }
    this.secrets = () => secrets;

    this.connection = new SharedConnection<InfluxClient>(
      () => {
        if (!this.conn) throw this.configError ?? new Error("invalid InfluxDB configuration");
        return new InfluxClient(this.conn);
      },
      (client) => client.close(),
    );
    this.reachability = new Reachability(
      () => {
        const client = this.connection.peek();
        return client ? client.ping() : Promise.reject(new Error("no client"));
      },
      (state, detail) => this.connection.setState(state, detail),
    );

    // Node-RED closes all nodes at once: keep the client until the sinks have delivered what they
    // hold (their own close is bounded) and deregistered, then close it; always within the limit.
    this.on("close", (_removed: boolean, done: () => void) => {
      this.reachability.close();
      const deadline = Date.now() + USERS_CLOSE_WAIT_MS;
      const closeClient = (): void => {
        if (this.connection.userCount > 0 && Date.now() < deadline) {
          setTimeout(closeClient, 20);
          return;
        }
        this.connection.close().then(
          () => done(),
          () => done(),
        );
      };
      closeClient();
    });
  }

  RED.nodes.registerType<InfluxConfigRuntime, Def, object, InfluxConfigCredentials>(
    "influxdb-config",
    InfluxConfigNode,
    {
      credentials: {
        token: { type: "password" },
        username: { type: "text" },
        password: { type: "password" },
        tlsCa: { type: "text" },
      },
    },
  );
};
