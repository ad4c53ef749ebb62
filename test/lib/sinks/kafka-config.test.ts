import assert from "node:assert/strict";
import { LineGuardError } from "../../../lib/errors";
import {
  KAFKAJS_RETRY,
  buildKafkaConfig,
  formatLogEntry,
  kafkaLogCreator,
  parseBrokers,
  toInt,
} from "../../../lib/sinks/kafka-config";

const PEM_CA = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";
const PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
const PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n";

function badConfig(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LineGuardError, String(err));
    assert.equal(err.code, "bad-config");
    assert.equal(err.retriable, false);
    assert.match(err.message, re);
    return true;
  });
}

describe("lib/sinks/kafka-config", () => {
  describe("parseBrokers", () => {
    it("splits on commas and spaces, trims and de-duplicates", () => {
      assert.deepEqual(parseBrokers(" a.example:9092, b:9093  c-1.local:1\n a.example:9092 "), [
        "a.example:9092",
        "b:9093",
        "c-1.local:1",
      ]);
      assert.deepEqual(parseBrokers("127.0.0.1:39092"), ["127.0.0.1:39092"]);
      assert.deepEqual(parseBrokers("[::1]:9092,[fe80::1]:9093"), ["[::1]:9092", "[fe80::1]:9093"]);
    });

    it("rejects what is not host:port with a reason", () => {
      badConfig(() => parseBrokers(""), /no brokers/);
      badConfig(() => parseBrokers("   ,  "), /no brokers/);
      badConfig(() => parseBrokers(undefined), /no brokers/);
      badConfig(() => parseBrokers("localhost"), /not host:port/);
      badConfig(() => parseBrokers(":9092"), /not host:port/);
      badConfig(() => parseBrokers("h:0"), /invalid port/);
      badConfig(() => parseBrokers("h:65536"), /invalid port/);
      badConfig(() => parseBrokers("h:90a"), /invalid port/);
      badConfig(() => parseBrokers("bad_host:9092"), /invalid host/);
      badConfig(() => parseBrokers("-h:9092"), /invalid host/);
      badConfig(() => parseBrokers("kafka://h:9092"), /without a scheme/);
      badConfig(() => parseBrokers("[::1:9092"), /IPv6/);
      badConfig(() => parseBrokers("[zz::1]:9092"), /IPv6/);
      badConfig(() => parseBrokers("ok:1, bad"), /"bad"/);
    });
  });

  describe("buildKafkaConfig", () => {
    it("maps the defaults: client id, timeouts, short kafkajs retries, no TLS, no SASL", () => {
      const c = buildKafkaConfig({ brokers: "127.0.0.1:9092" }, {});
      assert.equal(c.clientId, "lineguard");
      assert.deepEqual(c.brokers, ["127.0.0.1:9092"]);
      assert.equal(c.connectionTimeout, 3000);
      assert.equal(c.requestTimeout, 30000);
      assert.deepEqual(c.retry, KAFKAJS_RETRY);
      assert.ok((c.retry?.retries ?? 99) <= 3, "kafkajs must retry only briefly");
      assert.equal(c.ssl, undefined);
      assert.equal(c.sasl, undefined);
      assert.equal(typeof c.logCreator, "function");
    });

    it("takes numbers given as strings and rejects bad ones", () => {
      const c = buildKafkaConfig(
        { brokers: "h:1", connectionTimeout: "1500", requestTimeout: " 5000 ", clientId: "x.y-z" },
        {},
      );
      assert.equal(c.connectionTimeout, 1500);
      assert.equal(c.requestTimeout, 5000);
      assert.equal(c.clientId, "x.y-z");
      badConfig(() => buildKafkaConfig({ brokers: "h:1", connectionTimeout: "abc" }, {}), /connection timeout/);
      badConfig(() => buildKafkaConfig({ brokers: "h:1", connectionTimeout: -5 }, {}), /connection timeout/);
      badConfig(() => buildKafkaConfig({ brokers: "h:1", requestTimeout: 1.5 }, {}), /request timeout/);
      badConfig(() => buildKafkaConfig({ brokers: "h:1", clientId: "bad id" }, {}), /client id/);
      badConfig(() => buildKafkaConfig({ brokers: "nope" }, {}), /not host:port/);
      assert.equal(toInt("", "x", 7, 0, 10), 7);
      assert.equal(toInt(undefined, "x", 7, 0, 10), 7);
    });

    it("maps TLS: CA, client certificate, key, passphrase and verification", () => {
      const c = buildKafkaConfig(
        { brokers: "h:9093", tls: true, tlsRejectUnauthorized: false },
        { tlsCa: PEM_CA, tlsCert: PEM_CERT, tlsKey: PEM_KEY, tlsPassphrase: "pp-secret" },
      );
      assert.deepEqual(c.ssl, {
        rejectUnauthorized: false,
        ca: [PEM_CA],
        cert: PEM_CERT,
        key: PEM_KEY,
        passphrase: "pp-secret",
      });
      // strings from the editor, and TLS with system CAs only
      assert.deepEqual(buildKafkaConfig({ brokers: "h:1", tls: "true", tlsRejectUnauthorized: "true" }, {}).ssl, {
        rejectUnauthorized: true,
      });
      // PEMs are ignored while TLS is off
      assert.equal(buildKafkaConfig({ brokers: "h:1", tls: false }, { tlsCa: "garbage" }).ssl, undefined);
    });

    it("rejects bad TLS material", () => {
      badConfig(
        () => buildKafkaConfig({ brokers: "h:1", tls: true }, { tlsCa: "not a pem" }),
        /CA certificate must be PEM/,
      );
      badConfig(() => buildKafkaConfig({ brokers: "h:1", tls: true }, { tlsCert: PEM_CERT }), /needs its key/);
      badConfig(() => buildKafkaConfig({ brokers: "h:1", tls: true }, { tlsKey: PEM_KEY }), /needs its key/);
    });

    it("maps SASL plain / scram-sha-256 / scram-sha-512 and rejects incomplete ones", () => {
      for (const m of ["plain", "scram-sha-256", "scram-sha-512"] as const) {
        const c = buildKafkaConfig({ brokers: "h:1", saslMechanism: m }, { username: "u", password: "p-secret" });
        assert.deepEqual(c.sasl, { mechanism: m, username: "u", password: "p-secret" });
      }
      assert.equal(buildKafkaConfig({ brokers: "h:1", saslMechanism: "none" }, { username: "u" }).sasl, undefined);
      assert.equal(buildKafkaConfig({ brokers: "h:1", saslMechanism: "" }, {}).sasl, undefined);
      badConfig(
        () => buildKafkaConfig({ brokers: "h:1", saslMechanism: "scram-sha-256" }, { username: "u" }),
        /username and a password/,
      );
      badConfig(
        () => buildKafkaConfig({ brokers: "h:1", saslMechanism: "plain" }, { password: "x" }),
        /username and a password/,
      );
      badConfig(
        () => buildKafkaConfig({ brokers: "h:1", saslMechanism: "gssapi" }, {}),
        /SASL mechanism must be one of/,
      );
    });

    it("routes kafkajs log entries to the sink without secrets", () => {
      const lines: Array<[string, string]> = [];
      const c = buildKafkaConfig(
        { brokers: "h:1", saslMechanism: "plain" },
        { username: "u", password: "hunter2-secret" },
        { log: (level, text) => lines.push([level, text]) },
      );
      const log = c.logCreator!(4 as never);
      log({
        namespace: "Connection",
        level: 1 as never,
        label: "ERROR",
        log: { timestamp: "t", message: "auth with hunter2-secret failed", broker: "h:1", stack: "very long" },
      });
      assert.equal(lines.length, 1);
      assert.equal(lines[0]![0], "error");
      assert.match(lines[0]![1], /kafkajs \[Connection\]: auth with \*\*\* failed \(broker=h:1\)/);
      assert.doesNotMatch(lines[0]![1], /hunter2/);
      assert.doesNotMatch(lines[0]![1], /very long/);
    });
  });

  describe("kafkaLogCreator", () => {
    it("maps levels and drops repeats within the window", () => {
      let now = 1000;
      const lines: Array<[string, string]> = [];
      const creator = kafkaLogCreator((l, t) => lines.push([l, t]), { repeatMs: 100, now: () => now });
      const log = creator(4 as never);
      const entry = (level: number, message: string) => ({
        namespace: "",
        level: level as never,
        label: "",
        log: { timestamp: "t", message },
      });
      log(entry(1, "down"));
      log(entry(1, "down"));
      log(entry(2, "warn"));
      log(entry(4, "info"));
      log(entry(5, "debug"));
      now += 150;
      log(entry(1, "down"));
      assert.deepEqual(
        lines.map(([l]) => l),
        ["error", "warn", "info", "debug", "error"],
      );
      assert.equal(
        formatLogEntry({ namespace: "", log: { timestamp: "t", message: "m", topic: "t1" } }),
        "kafkajs: m (topic=t1)",
      );
    });

    it("caps the lines per window and says how many were suppressed", () => {
      let now = 0;
      const lines: string[] = [];
      const log = kafkaLogCreator((_l, t) => lines.push(t), { repeatMs: 100, maxPerWindow: 3, now: () => now })(
        4 as never,
      );
      for (let i = 0; i < 10; i++)
        log({ namespace: "", level: 1 as never, label: "", log: { timestamp: "t", message: `m${i}` } });
      assert.deepEqual(lines, ["kafkajs: m0", "kafkajs: m1", "kafkajs: m2"]);
      now = 100;
      log({ namespace: "", level: 1 as never, label: "", log: { timestamp: "t", message: "next" } });
      assert.deepEqual(lines.slice(3), ["kafkajs: 7 more log line(s) suppressed", "kafkajs: next"]);
      // retry counters do not make a line new
      assert.equal(
        formatLogEntry({ namespace: "X", log: { timestamp: "t", message: "m", retryCount: 1, retryTime: 93 } }),
        "kafkajs [X]: m",
      );
    });

    it("never throws from the sink", () => {
      const log = kafkaLogCreator(() => {
        throw new Error("sink broke");
      })(4 as never);
      assert.doesNotThrow(() =>
        log({ namespace: "", level: 1 as never, label: "", log: { timestamp: "t", message: "x" } }),
      );
    });
  });
});
