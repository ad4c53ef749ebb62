/**
 * The simulator's MQTT collector: envelope building (unit) and publishing through the embedded aedes
 * broker on 127.0.0.1 to a real mqtt client (no mocks).
 */
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { CncFleet, PROGRAMS } from "../../../lib/sim/cnc/model";
import { CncEnvelope, VENDOR_KEYS, buildEnvelope, envelopeTopic } from "../../../lib/sim/cnc/mqtt-collector";
import { CncSimulator } from "../../../lib/sim/cnc/simulator";

async function waitFor(fn: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("lib/sim/cnc/mqtt-collector", function () {
  this.timeout(20000);

  describe("envelope", () => {
    const fleet = new CncFleet({ seed: 4, labels: true });
    const [fanuc, siemens] = fleet.step(200_000);

    it("has the collector shape with vendor-specific payload keys", () => {
      const a = buildEnvelope(fanuc);
      assert.deepEqual(Object.keys(a), ["cnc_id", "part_program", "timestamp", "payload"]);
      assert.equal(a.cnc_id, "cnc-01");
      assert.ok(PROGRAMS.some((p) => p.name === a.part_program));
      assert.equal(a.timestamp, new Date(fanuc.ts).toISOString());
      assert.equal(a.payload.spin, fanuc.values.spindle_speed);
      assert.equal(a.payload["X-Axis"], fanuc.values.x_pos);
      assert.equal(a.payload.status, fanuc.values.state);
      const b = buildEnvelope(siemens);
      assert.equal(b.payload.SpindleSpeed, siemens.values.spindle_speed);
      assert.equal(b.payload.PosX, siemens.values.x_pos);
      assert.equal(b.payload.spin, undefined);
      for (const env of [a, b]) {
        for (const v of Object.values(env.payload)) assert.ok(["number", "string", "boolean"].includes(typeof v));
        assert.equal(env.payload.label_failure_type, "none");
      }
      // Every tag but the program (in part_program) is mapped, keys unique per vendor.
      for (const keys of Object.values(VENDOR_KEYS)) {
        assert.equal(new Set(Object.values(keys)).size, 14);
      }
    });

    it("formats the timestamp as ISO, epoch seconds (string) or epoch ms", () => {
      assert.equal(buildEnvelope(fanuc, "epoch-s").timestamp, String(Math.floor(fanuc.ts / 1000)));
      assert.equal(buildEnvelope(fanuc, "epoch-ms").timestamp, fanuc.ts);
    });

    it("fills the topic pattern", () => {
      assert.equal(envelopeTopic("cnc/{cnc_id}/data", fanuc), "cnc/cnc-01/data");
      assert.equal(envelopeTopic("cnc/<cnc_id>/data", fanuc), "cnc/cnc-01/data");
      assert.equal(envelopeTopic("plant/{vendor}/{cnc_id}", siemens), "plant/siemens/cnc-02");
    });
  });

  describe("embedded broker", () => {
    let sim: CncSimulator;
    let client: mqtt.MqttClient | undefined;

    afterEach(async () => {
      await client?.endAsync(true);
      client = undefined;
      await sim?.stop();
    });

    it("publishes valid envelopes for every machine at the configured rate", async () => {
      sim = new CncSimulator({ rate: 20, seed: 8, opcua: false, http: false, mqtt: { port: 0 } });
      await sim.start();
      assert.match(sim.mqtt!.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
      client = await mqtt.connectAsync(sim.mqtt!.url, { reconnectPeriod: 0 });
      const got: { topic: string; env: CncEnvelope; at: number }[] = [];
      client.on("message", (topic, buf) => got.push({ topic, env: JSON.parse(buf.toString()), at: Date.now() }));
      await client.subscribeAsync("cnc/+/data");
      await waitFor(() => got.length > 0);
      const t0 = Date.now();
      const start = got.length;
      await new Promise((r) => setTimeout(r, 2000));
      const window = got.slice(start);
      const secs = (Date.now() - t0) / 1000;
      for (const id of ["cnc-01", "cnc-02", "cnc-03"]) {
        const n = window.filter((m) => m.env.cnc_id === id).length;
        const hz = n / secs;
        assert.ok(hz > 12 && hz < 28, `${id}: ${hz.toFixed(1)} Hz at rate 20`);
      }
      for (const { topic, env } of got) {
        assert.equal(topic, `cnc/${env.cnc_id}/data`);
        assert.equal(typeof env.part_program, "string");
        assert.ok(Number.isFinite(Date.parse(env.timestamp as string)));
        assert.equal(typeof env.payload, "object");
        const keys = env.cnc_id === "cnc-02" ? VENDOR_KEYS.siemens : VENDOR_KEYS.fanuc;
        assert.deepEqual(Object.keys(env.payload).sort(), Object.values(keys).sort());
      }
      // Timestamps follow the wall clock and increase per machine.
      const c1 = got.filter((m) => m.env.cnc_id === "cnc-01").map((m) => Date.parse(m.env.timestamp as string));
      assert.ok(c1.every((t, i) => i === 0 || t > c1[i - 1]));
      assert.ok(Math.abs(c1[c1.length - 1] - Date.now()) < 2000);

      // A rate change takes effect.
      sim.setRate(2);
      await new Promise((r) => setTimeout(r, 300));
      const before = got.length;
      await new Promise((r) => setTimeout(r, 1500));
      const slow = (got.length - before) / 3 / 1.5;
      assert.ok(slow < 4, `after setRate(2): ${slow.toFixed(1)} Hz`);
    });

    it("publishes to an external broker URL with a custom topic pattern and epoch-second timestamps", async () => {
      sim = new CncSimulator({ rate: 10, opcua: false, http: false, mqtt: { port: 0 } });
      await sim.start();
      const other = new CncSimulator({
        machines: 2,
        rate: 10,
        labels: true,
        opcua: false,
        http: false,
        mqtt: { url: sim.mqtt!.url, topic: "plant/{vendor}/{cnc_id}", timestampFormat: "epoch-s" },
      });
      try {
        client = await mqtt.connectAsync(sim.mqtt!.url, { reconnectPeriod: 0 });
        const got: { topic: string; env: CncEnvelope }[] = [];
        client.on("message", (topic, buf) => got.push({ topic, env: JSON.parse(buf.toString()) }));
        await client.subscribeAsync("plant/#");
        await other.start();
        await waitFor(() => got.some((m) => m.env.cnc_id === "cnc-02"));
        const m = got.find((x) => x.env.cnc_id === "cnc-02")!;
        assert.equal(m.topic, "plant/siemens/cnc-02");
        assert.match(m.env.timestamp as string, /^\d{10}$/);
        assert.equal(m.env.payload.label_anomaly, false);
      } finally {
        await other.stop();
      }
    });

    it("fails to start with a clear error when the port is taken, and cleans up", async () => {
      sim = new CncSimulator({ rate: 1, opcua: false, http: false, mqtt: { port: 0 } });
      await sim.start();
      const port = Number(new URL(sim.mqtt!.url).port);
      const clash = new CncSimulator({ rate: 1, opcua: false, http: false, mqtt: { port } });
      await assert.rejects(clash.start(), /EADDRINUSE/);
      await clash.stop();
    });
  });
});
