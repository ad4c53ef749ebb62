/**
 * Kafka over TLS with SASL/SCRAM against the real broker of scripts/test-services.sh: its SASL_SSL
 * listener (default 127.0.0.1:39095, LINEGUARD_TEST_KAFKA_SSL) presents a server certificate signed by
 * the test CA the script made with keytool (LINEGUARD_TEST_KAFKA_CA, <services dir>/kafka/tls/ca.pem).
 * The kafka-broker node takes the CA as PEM text in its credentials (tlsCa). No mocks.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import kafkaBroker from "../../nodes/kafka-broker/kafka-broker";
import kafkaIn from "../../nodes/kafka-in/kafka-in";
import kafkaOut from "../../nodes/kafka-out/kafka-out";
import { helper, useHelper } from "../support/helper";
import { eventually, uniqueName } from "../support/integration";
import { services } from "../support/services";
import { FlowNode, kafkaOutFlow } from "../nodes/fixtures/kafka-flows";
import { collect, everyText, readTopic, statusesOf } from "../nodes/fixtures/kafka-support";

const nodes = [kafkaBroker, kafkaOut, kafkaIn];
const SSL_BROKER = services.kafkaSslBrokers[0]!;
const T0 = Date.UTC(2025, 0, 1);

/** A self-signed CA that signed nothing the broker presents (made once with openssl, valid to 2126). */
const UNRELATED_CA = `-----BEGIN CERTIFICATE-----
MIIDTzCCAjegAwIBAgIUWxRZVswgA4ZqvHpBrB3noCCuF5gwDQYJKoZIhvcNAQEL
BQAwNjEYMBYGA1UECgwPTGluZUd1YXJkIHRlc3RzMRowGAYDVQQDDBFVbnJlbGF0
ZWQgVGVzdCBDQTAgFw0yNjExMjMxOTE3MjVaGA8yMTI2MTAzMDE5MTcyNVowNjEY
MBYGA1UECgwPTGluZUd1YXJkIHRlc3RzMRowGAYDVQQDDBFVbnJlbGF0ZWQgVGVz
dCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAL/mHbCUt6VDOhRX
OtEiBTq2159d56zGY/ncj5tna8Sac8YFvqY4oxPgIUKwEpV7z0EMZgqr/hadef8d
D3I/+iSuc5Mn+KVy4zPSs25TCwvq81rgpO1TY2L+qif+CI/9tiAHDxFsKJG5loq+
/fm9jGOXkCJQ10T3NPpTsEUgN/hpPJwUeI0+kJjkKBt3lvd7KAFig883SrG2y7Nl
wD9oqd/uf8kcq1Ty0S1tZz/OzFzCHjtkx4/W03MNvis3jis77Aew4DRwgqg8atol
kzTKt3jySZOEeLZF8Dh+5sFkolkIMygA2vIffyLE5Sxk6+YyXpZbo4vm5FiBJj/9
E/l//mkCAwEAAaNTMFEwHQYDVR0OBBYEFDh8voYLizBY50vEMtZTHLYIagF2MB8G
A1UdIwQYMBaAFDh8voYLizBY50vEMtZTHLYIagF2MA8GA1UdEwEB/wQFMAMBAf8w
DQYJKoZIhvcNAQELBQADggEBAFV5iCMvy7GqIm59EjnvnIno/PBlEMs/zWQSQZas
HOtnXi0WHYGZ7Wsd367NT8xbeGwrcyPO/1cANP4ZP+WUvdhTBeIrn6ttl6PQvu1K
L64AIgEtljaEEOo0CGajKeAPm6Vb2O/j5PBXP8i/byBBgCSvqKHke0KOlrW0LaOF
cvUYjzHpSctwu6LlTE9PWlQyKaE3mer7SnP9TyY/ptr8aQedefBfb9inZ5e1oZFC
UFVLUlh0w3+J/P+LI863nJyRAPfxYHVf/hTI0X7kDP4aGiom7vz144a2bxFq1LTF
qJYut6iDcnlYV8BzyZxfGj5RD6BoARjYLCIi5g/J6+ZahmA=
-----END CERTIFICATE-----
`;

function portOpen(addr: string): Promise<boolean> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve) => {
    const s = net.connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
    const end = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => end(false));
    s.once("connect", () => end(true));
    s.once("error", () => end(false));
  });
}

/** kafka-broker (TLS + SCRAM) with kafka-out "out1" and, optionally, kafka-in "in1" on the same broker. */
function tlsFlow(
  topic: string,
  broker: Record<string, unknown>,
  opts: { withIn?: boolean; groupId?: string } = {},
): FlowNode[] {
  const flow = kafkaOutFlow(
    SSL_BROKER,
    { topic },
    { tls: true, tlsRejectUnauthorized: true, saslMechanism: "scram-sha-512", connectionTimeout: 3000, ...broker },
  );
  if (opts.withIn) {
    const z = "kafka-tab";
    flow.push(
      {
        id: "in1",
        type: "kafka-in",
        z,
        broker: "broker1",
        topics: topic,
        groupId: opts.groupId ?? uniqueName("lg-it-tls-g"),
        fromBeginning: true,
        decode: "json",
        output: "message",
        version: 1,
        wires: [["msgs"], ["errs"]],
      },
      { id: "msgs", type: "helper", z },
      { id: "errs", type: "helper", z },
    );
  }
  return flow;
}

describe("integration: Kafka SASL/SCRAM over TLS (SASL_SSL listener)", function () {
  this.timeout(120_000);

  useHelper("kafka");

  let ca = "";
  before(async function () {
    if (!(await portOpen(SSL_BROKER))) {
      throw new Error(
        `the SASL_SSL listener is not reachable at ${SSL_BROKER}: "bash scripts/test-services.sh start kafka" ` +
          "starts it (LINEGUARD_KAFKA_SSL_PORT, default 39095)",
      );
    }
    try {
      ca = fs.readFileSync(services.kafkaCaFile, "utf8");
    } catch (err) {
      throw new Error(
        `cannot read the test CA ${services.kafkaCaFile} (${String(err)}): set LINEGUARD_TEST_KAFKA_CA ` +
          'from "bash scripts/test-services.sh env"',
      );
    }
    assert.match(ca, /-----BEGIN CERTIFICATE-----/);
  });

  it("TLS (test CA in credentials) + SCRAM-SHA-512: kafka-out delivers and kafka-in reads it back", async () => {
    const topic = uniqueName("lg-it-tls");
    await helper.load(nodes, tlsFlow(topic, {}, { withIn: true }), {
      broker1: { username: services.kafkaUser, password: services.kafkaPassword, tlsCa: ca },
    });
    const out = helper.getNode("out1");
    const inn = helper.getNode("in1");
    const completed = collect(helper.getNode("completed"));
    const caught = collect(helper.getNode("caught"));
    const msgs = collect(helper.getNode("msgs"));
    const N = 20;
    for (let i = 0; i < N; i++) out.receive({ topic: `tls-${i % 3}`, payload: { ts: T0 + i, values: { i } } });
    await eventually(() => completed.length === N || caught.length > 0, 60_000, 50);
    assert.deepEqual(
      caught.map((m) => m.error?.message),
      [],
    );
    await eventually(() => msgs.length >= N, 60_000, 100);
    const seqs = msgs.map((m) => (m.payload as { values: { i: number } }).values.i).sort((a, b) => a - b);
    assert.deepEqual(
      seqs,
      Array.from({ length: N }, (_, i) => i),
    );
    assert.equal(msgs[0]!.topic?.startsWith("tls-"), true, "msg.topic is the source (the Kafka key)");
    // statuses are throttled: they may follow the messages a moment later
    await eventually(() => statusesOf(out).some((s) => s.fill === "green"), 30_000, 50);
    await eventually(() => statusesOf(inn).some((s) => s.fill === "green"), 30_000, 50);
    // and a plain client on the PLAINTEXT listener sees the same messages
    assert.equal((await readTopic(topic, N)).length, N);
    assert.ok(!everyText(helper, [out, inn]).includes(services.kafkaPassword), "password leaked");
  });

  it("SCRAM-SHA-256 over TLS delivers too", async () => {
    const topic = uniqueName("lg-it-tls256");
    await helper.load(nodes, tlsFlow(topic, { saslMechanism: "scram-sha-256" }), {
      broker1: { username: services.kafkaUser, password: services.kafkaPassword, tlsCa: ca },
    });
    const out = helper.getNode("out1");
    const completed = collect(helper.getNode("completed"));
    for (let i = 0; i < 5; i++) out.receive({ topic: "tls256", payload: { ts: T0 + i, values: { i } } });
    await eventually(() => completed.length === 5, 60_000, 50);
    assert.equal((await readTopic(topic, 5)).length, 5);
  });

  it("a wrong password: red 'authentication failed', done(err), no secret in status, logs or errors", async () => {
    const password = "Wr0ng-TLS-pa55-7f3c91";
    await helper.load(nodes, tlsFlow(uniqueName("lg-it-tls-bad"), {}, { withIn: true }), {
      broker1: { username: services.kafkaUser, password, tlsCa: ca },
    });
    const out = helper.getNode("out1");
    const inn = helper.getNode("in1");
    const caught = collect(helper.getNode("caught"));
    const ok = collect(helper.getNode("ok"));
    out.receive({ topic: "m1", payload: { ts: T0, values: { a: 1 } } });
    await eventually(() => caught.length === 1, 60_000, 50);
    assert.match(caught[0].error.message, /authentication failed/i);
    assert.equal(ok.length, 0);
    await eventually(
      () => statusesOf(out).some((s) => s.fill === "red" && s.text === "lineguard.status.authFailed"),
      30_000,
      50,
    );
    await eventually(() => statusesOf(inn).some((s) => s.fill === "red"), 60_000, 100);
    const all = everyText(helper, [out, inn]) + JSON.stringify(caught);
    assert.ok(!all.includes(password), "wrong password leaked");
    assert.ok(!all.includes(services.kafkaPassword), "real password leaked");
  });

  it("a CA that did not sign the broker certificate: a clear TLS error, nothing delivered", async () => {
    await helper.load(nodes, tlsFlow(uniqueName("lg-it-tls-ca"), {}, { withIn: true }), {
      broker1: { username: services.kafkaUser, password: services.kafkaPassword, tlsCa: UNRELATED_CA },
    });
    const out = helper.getNode("out1");
    const inn = helper.getNode("in1");
    const ok = collect(helper.getNode("ok"));
    out.receive({ topic: "m1", payload: { ts: T0, values: { a: 1 } } });
    // kafka-in shows the reason in its status; kafka-out goes red and the broker logs the reason
    const tlsReason = /certificate|self[- ]signed|unable to verify/i;
    await eventually(() => statusesOf(inn).some((s) => s.fill === "red" && tlsReason.test(s.text ?? "")), 60_000, 100);
    await eventually(() => statusesOf(out).some((s) => s.fill === "red"), 60_000, 100);
    await eventually(() => tlsReason.test(JSON.stringify(helper.log().args)), 60_000, 100);
    assert.equal(ok.length, 0);
    assert.ok(!everyText(helper, [out, inn]).includes(services.kafkaPassword), "password leaked");
  });

  it("a plaintext client on the TLS port: a clear connection error, no hang", async () => {
    await helper.load(nodes, tlsFlow(uniqueName("lg-it-tls-plain"), { tls: false }, { withIn: true }), {
      broker1: { username: services.kafkaUser, password: services.kafkaPassword },
    });
    const out = helper.getNode("out1");
    const inn = helper.getNode("in1");
    const ok = collect(helper.getNode("ok"));
    out.receive({ topic: "m1", payload: { ts: T0, values: { a: 1 } } });
    await eventually(
      () => statusesOf(inn).some((s) => s.fill === "red" && /connection|closed/i.test(s.text ?? "")),
      60_000,
      100,
    );
    await eventually(() => statusesOf(out).some((s) => s.fill === "red"), 60_000, 100);
    assert.equal(ok.length, 0);
    assert.ok(!everyText(helper, [out, inn]).includes(services.kafkaPassword), "password leaked");
  });
});
