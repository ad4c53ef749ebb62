/**
 * The MQTT CNC collector side of the simulator: every machine publishes the collector envelope
 * `{"cnc_id","part_program","timestamp","payload":{...}}` whose payload keys depend on the CNC
 * vendor (a Fanuc-like and a Siemens-like key set), to a broker URL or to an embedded aedes broker
 * on 127.0.0.1. Publishing uses the `mqtt` package.
 */
import net from "node:net";
import mqtt, { MqttClient } from "mqtt";
import type { Aedes } from "aedes";
import { CncSample, TagName, Vendor } from "./model";
import { freePort } from "./net";

export type TimestampFormat = "iso" | "epoch-s" | "epoch-ms";

export interface MqttSimOptions {
  /** Broker URL (mqtt://host:port). Without one an aedes broker is embedded. */
  url?: string;
  username?: string;
  password?: string;
  /** Embedded broker port; 0 picks a free one. Default 1883. */
  port?: number;
  /** Embedded broker interface. Default 127.0.0.1. */
  host?: string;
  /** Topic pattern; {cnc_id} (or <cnc_id>) and {vendor} are replaced. Default cnc/{cnc_id}/data. */
  topic?: string;
  /** Envelope timestamp: ISO-8601 (default), epoch seconds as a string (like the collector), or epoch ms. */
  timestampFormat?: TimestampFormat;
  qos?: 0 | 1;
}

export const DEFAULT_MQTT_PORT = 1883;
export const DEFAULT_TOPIC = "cnc/{cnc_id}/data";

type PayloadTag = Exclude<TagName, "program">;

/** Payload keys per vendor (the envelope carries the program as part_program). */
export const VENDOR_KEYS: Record<Vendor, Record<PayloadTag, string>> = {
  fanuc: {
    state: "status",
    part_count: "parts",
    spindle_speed: "spin",
    spindle_load: "spload",
    feed_rate: "feed",
    x_pos: "X-Axis",
    y_pos: "Y-Axis",
    z_pos: "Z-Axis",
    vibration_rms: "vib",
    spindle_temp: "sp_temp",
    bearing_temp: "brg_temp",
    coolant_temp: "cool_temp",
    coolant_flow: "cool_flow",
    power: "power_kw",
  },
  siemens: {
    state: "ProgStatus",
    part_count: "PartCount",
    spindle_speed: "SpindleSpeed",
    spindle_load: "SpindleLoad",
    feed_rate: "FeedRate",
    x_pos: "PosX",
    y_pos: "PosY",
    z_pos: "PosZ",
    vibration_rms: "Vibration",
    spindle_temp: "SpindleTemp",
    bearing_temp: "BearingTemp",
    coolant_temp: "CoolantTemp",
    coolant_flow: "CoolantFlow",
    power: "PowerKW",
  },
};

export interface CncEnvelope {
  cnc_id: string;
  part_program: string;
  timestamp: string | number;
  payload: Record<string, number | string | boolean>;
}

export function envelopeTopic(pattern: string, s: Pick<CncSample, "id" | "vendor">): string {
  return pattern.replace(/\{cnc_id\}|<cnc_id>/g, s.id).replace(/\{vendor\}|<vendor>/g, s.vendor);
}

export function buildEnvelope(s: CncSample, format: TimestampFormat = "iso"): CncEnvelope {
  const keys = VENDOR_KEYS[s.vendor];
  const payload: Record<string, number | string | boolean> = {};
  for (const [tag, key] of Object.entries(keys) as [PayloadTag, string][]) payload[key] = s.values[tag];
  if (s.labels) {
    payload.label_anomaly = s.labels.anomaly;
    payload.label_failure_type = s.labels.failure_type;
    payload.label_severity = s.labels.severity;
  }
  const timestamp =
    format === "epoch-s"
      ? String(Math.floor(s.ts / 1000))
      : format === "epoch-ms"
        ? s.ts
        : new Date(s.ts).toISOString();
  return { cnc_id: s.id, part_program: s.values.program, timestamp, payload };
}

export class CncMqttCollector {
  private client: MqttClient | undefined;
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  private brokerUrl = "";
  private published = 0;

  constructor(private readonly opts: MqttSimOptions = {}) {}

  /** The broker the collector publishes to (the embedded one when no URL was given). */
  get url(): string {
    return this.brokerUrl;
  }

  get publishedCount(): number {
    return this.published;
  }

  async start(): Promise<void> {
    if (this.client) return;
    try {
      if (this.opts.url) {
        this.brokerUrl = this.opts.url;
      } else {
        const host = this.opts.host ?? "127.0.0.1";
        const port = this.opts.port === 0 ? await freePort(host) : (this.opts.port ?? DEFAULT_MQTT_PORT);
        const { Aedes: AedesClass } = await import("aedes");
        this.broker = await AedesClass.createBroker();
        const server = net.createServer(this.broker.handle);
        this.server = server;
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(port, host, () => {
            server.off("error", reject);
            resolve();
          });
        });
        this.brokerUrl = `mqtt://${host}:${port}`;
      }
      this.client = await mqtt.connectAsync(this.brokerUrl, {
        username: this.opts.username,
        password: this.opts.password,
        clientId: `lineguard-sim-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
        reconnectPeriod: 2000,
        connectTimeout: 10_000,
        // Drop QoS 0 samples while disconnected instead of queueing them without bound.
        queueQoSZero: false,
      });
      this.client.on("error", () => {
        // reconnects by itself; errors are visible through `connected`
      });
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  publish(samples: readonly CncSample[]): void {
    const client = this.client;
    if (!client || !client.connected) return;
    const pattern = this.opts.topic ?? DEFAULT_TOPIC;
    for (const s of samples) {
      const env = buildEnvelope(s, this.opts.timestampFormat);
      client.publish(envelopeTopic(pattern, s), JSON.stringify(env), { qos: this.opts.qos ?? 0 });
      this.published++;
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true).catch(() => undefined);
    const broker = this.broker;
    this.broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    const server = this.server;
    this.server = undefined;
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
