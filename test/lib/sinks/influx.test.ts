import assert from "node:assert/strict";
import vm from "node:vm";
import { HttpError, RequestTimedOutError } from "@influxdata/influxdb-client";
import { isRetriable } from "../../../lib/errors";
import {
  InfluxClient,
  InfluxError,
  InfluxTransport,
  Reachability,
  classifyError,
  normaliseVersion,
  parseRetryAfter,
  prepareMessage,
  resolveBucket,
  resolveConnection,
  serverMessage,
} from "../../../lib/sinks/influx";
import { LineMapper } from "../../../lib/sinks/line-protocol";
import { FakeInflux, closedPortUrl } from "../../nodes/fixtures/influxdb-fake-server";
import { TEST_CERT, TEST_KEY } from "../../nodes/fixtures/influxdb-tls";

const item = (line: string) => ({ line, bytes: Buffer.byteLength(line) + 1 });

describe("lib/sinks/influx", () => {
  describe("connection settings", () => {
    it("maps a 2.x config: org, token, timeout, TLS", () => {
      const c = resolveConnection(
        { url: "https://influx.example:8086/prefix/", version: "2", org: "acme", timeout: "2500" },
        { token: "tok-123", tlsCa: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" },
      );
      assert.equal(c.url, "https://influx.example:8086/prefix");
      assert.equal(c.version, "2");
      assert.equal(c.org, "acme");
      assert.equal(c.token, "tok-123");
      assert.equal(c.timeoutMs, 2500);
      assert.equal(c.rejectUnauthorized, true);
      assert.match(c.ca!, /BEGIN CERTIFICATE/);
      assert.equal(c.bucket, undefined);
      assert.deepEqual(c.secrets, ["tok-123"]);
      assert.equal(resolveBucket(c, "sensors"), "sensors");
      assert.throws(() => resolveBucket(c, ""), /bucket is required/);
    });

    it("maps a 1.8 config: bucket db/rp, token user:pass, org empty", () => {
      const c = resolveConnection(
        { url: "http://127.0.0.1:8086", version: "1.8", database: "plant", retentionPolicy: "one_week" },
        { username: "lineguard", password: "pw-secret" },
      );
      assert.equal(c.version, "1.8");
      assert.equal(c.org, "");
      assert.equal(c.bucket, "plant/one_week");
      assert.equal(c.token, "lineguard:pw-secret");
      assert.ok(c.secrets.includes("pw-secret") && c.secrets.includes("lineguard:pw-secret"));
      assert.equal(resolveBucket(c, "ignored"), "plant/one_week");
      const noRp = resolveConnection({ url: "http://h:1", version: "1.x", database: "plant" }, {});
      assert.equal(noRp.bucket, "plant");
      assert.equal(noRp.token, undefined, "no username: no authentication");
      const tokenOnly = resolveConnection({ url: "http://h:1", version: "1.8", database: "d" }, { token: "u:p" });
      assert.equal(tokenOnly.token, "u:p");
      assert.equal(
        resolveConnection({ url: "https://h", version: "2", org: "o", tlsRejectUnauthorized: "false" })
          .rejectUnauthorized,
        false,
      );
    });

    it("refuses bad settings with config errors that quote no secret", () => {
      const cases: Array<[object, RegExp]> = [
        [{ url: "" }, /URL is required/],
        [{ url: "not a url" }, /not valid/],
        [{ url: "ftp://h" }, /http:\/\/ or https:\/\//],
        [{ url: "http://user:hunter22@h:8086", org: "o" }, /must not contain a user/],
        [{ url: "http://h?x=1", org: "o" }, /query/],
        [{ url: "http://h", version: "3" }, /version must be/],
        [{ url: "http://h", version: "2" }, /organisation is required/],
        [{ url: "http://h", version: "1.8" }, /database is required/],
      ];
      for (const [s, re] of cases) {
        assert.throws(
          () => resolveConnection(s),
          (e: unknown) => e instanceof Error && re.test(e.message) && !/hunter22/.test(e.message),
        );
      }
      assert.throws(() => resolveConnection({ url: "https://h", org: "o" }, { tlsCa: "nope" }), /PEM/);
    });

    it("normalises the API version", () => {
      assert.equal(normaliseVersion("2"), "2");
      assert.equal(normaliseVersion("v2"), "2");
      assert.equal(normaliseVersion("2.7"), "2");
      assert.equal(normaliseVersion("1.8"), "1.8");
      assert.equal(normaliseVersion("1.x"), "1.8");
      assert.equal(normaliseVersion(1), "1.8");
      assert.equal(normaliseVersion("3"), undefined);
      assert.equal(normaliseVersion(""), undefined);
    });
  });

  describe("error classification", () => {
    const http = (status: number, body = "", headers: Record<string, string> = {}) =>
      new HttpError(status, "x", body, headers["retry-after"], "application/json", undefined, headers);

    it("400: not retriable, with the server's message", () => {
      const e = classifyError(http(400, '{"error":"unable to parse \'x y\': invalid field format"}'));
      assert.equal(e.code, "bad-request");
      assert.equal(e.status, 400);
      assert.equal(isRetriable(e), false);
      assert.match(e.message, /unable to parse 'x y': invalid field format/);
    });

    it("401/403: not retriable, authentication failed", () => {
      for (const s of [401, 403]) {
        const e = classifyError(http(s, '{"error":"authorization failed"}'));
        assert.equal(e.code, "auth");
        assert.equal(e.retriable, false);
        assert.match(e.message, /^authentication failed/);
      }
    });

    it("404 and 1.8's 500 'retention policy not found': not retriable", () => {
      const a = classifyError(http(404, '{"error":"database not found: \\"nodb\\""}'));
      assert.equal(a.code, "not-found");
      assert.equal(a.retriable, false);
      assert.match(a.message, /database not found: "nodb"/);
      const b = classifyError(http(500, '{"error":"retention policy not found: norp"}'));
      assert.equal(b.code, "not-found");
      assert.equal(b.retriable, false);
    });

    it("429 and 5xx: retriable, with Retry-After in ms", () => {
      const t = classifyError(http(429, "", { "retry-after": "7" }));
      assert.equal(t.code, "throttled");
      assert.equal(t.retriable, true);
      assert.equal(t.retryAfterMs, 7000);
      const s = classifyError(http(503, "busy"));
      assert.equal(s.code, "server");
      assert.equal(s.retriable, true);
      assert.equal(s.retryAfterMs, undefined);
      assert.equal(classifyError(http(408)).retriable, true);
    });

    it("other statuses: not retriable", () => {
      assert.equal(classifyError(http(413)).code, "too-large");
      assert.equal(classifyError(http(302)).retriable, false);
    });

    it("network errors and timeouts: retriable; TLS and unknown errors: not", () => {
      for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EPIPE"]) {
        const err = Object.assign(new Error(`connect ${code}`), { code });
        const e = classifyError(err, { url: "http://h:1" });
        assert.equal(e.code, "network", code);
        assert.equal(e.retriable, true, code);
      }
      assert.equal(classifyError(new RequestTimedOutError()).code, "timeout");
      assert.equal(classifyError(new Error("aborted"), { timedOut: true }).code, "timeout");
      assert.equal(classifyError(new Error("x"), { closed: true }).code, "closed");
      const tls = classifyError(Object.assign(new Error("self-signed"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }));
      assert.equal(tls.code, "tls");
      assert.equal(tls.retriable, false);
      assert.equal(classifyError(new TypeError("bug")).retriable, false);
    });

    it("redacts secrets from server messages", () => {
      const e = classifyError(http(401, "bad token: Token tok-very-secret"), { secrets: ["tok-very-secret"] });
      assert.doesNotMatch(e.message, /tok-very-secret/);
      const f = classifyError(http(400, "Authorization: Token abc:def-ghi"), {});
      assert.doesNotMatch(f.message, /abc:def-ghi/);
    });

    it("parses Retry-After and server messages", () => {
      const now = Date.parse("2026-01-01T00:00:00Z");
      assert.equal(parseRetryAfter("3"), 3000);
      assert.equal(parseRetryAfter(["2"]), 2000);
      assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now), 10000);
      assert.equal(parseRetryAfter("soon"), undefined);
      assert.equal(parseRetryAfter(undefined), undefined);
      assert.equal(serverMessage({ body: '{"message":"m"}' }), "m");
      assert.equal(serverMessage({ body: "plain" }), "plain");
      assert.equal(serverMessage({ body: "", headers: { "x-influxdb-error": "hdr" } }), "hdr");
    });
  });

  describe("prepareMessage", () => {
    it("keeps payload indices across parser and mapper rejections", () => {
      const m = new LineMapper({ stringValues: "drop" });
      const payload = [
        { ts: 1, values: { a: 1 } },
        "nope",
        { ts: 2, values: { s: "only string" } },
        { values: { a: 1 } },
        { ts: 3, values: { a: Number.NaN } },
        { ts: 1e16, values: { a: 1 } },
        { ts: 4, values: { a: 4 } },
      ];
      const p = prepareMessage(m, payload, "src");
      assert.equal(p.total, 7);
      assert.equal(p.items.length, 2);
      assert.deepEqual(
        p.rejected.map((r) => [r.index, r.code]),
        [
          [1, "not-object"],
          [2, "no-field"],
          [3, "bad-timestamp"],
          [4, "bad-value"],
          [5, "bad-timestamp"],
        ],
      );
      assert.equal(p.rejected[1]!.input, payload[2]);
      assert.equal(p.rejected[4]!.input, payload[5]);
    });

    it("accepts records built in another realm (a Function node's vm sandbox)", () => {
      const payload = vm.runInNewContext(
        '[{ ts: 1700000000000, values: { a: 1 }, quality: { a: "good" } }]',
      ) as unknown;
      const p = prepareMessage(new LineMapper(), payload, "fn", vm.runInNewContext('({ tags: { line: "A" } })'));
      assert.deepEqual(p.rejected, []);
      assert.deepEqual(
        p.items.map((i) => i.line),
        ["lineguard,line=A,source=fn a=1 1700000000000"],
      );
    });

    it("a single record, a too-large batch, an empty batch", () => {
      const m = new LineMapper();
      const one = prepareMessage(m, { ts: 1, values: { s: "x" } }, "src", { measurement: "" });
      assert.deepEqual(
        one.rejected.map((r) => [r.index, r.code]),
        [[0, "bad-value"]],
      );
      assert.equal(one.total, 1);
      const big = prepareMessage(m, Array(5).fill({ ts: 1, values: { a: 1 } }), "src", {}, { maxBatch: 4 });
      assert.deepEqual(
        big.rejected.map((r) => r.code),
        ["too-large"],
      );
      assert.equal(big.items.length, 0);
      assert.equal(prepareMessage(m, [], "src").rejected[0]!.code, "empty-batch");
    });
  });

  describe("InfluxClient + InfluxTransport (scripted HTTP server)", () => {
    const fake = new FakeInflux();
    let client: InfluxClient;

    before(async () => {
      await fake.start();
    });
    after(async () => {
      await fake.stop();
    });
    beforeEach(() => {
      fake.requests.length = 0;
      fake.respond = () => undefined;
      client = new InfluxClient(
        resolveConnection({ url: fake.url, version: "2", org: "acme", timeout: 500 }, { token: "tok-abc" }),
      );
    });
    afterEach(async () => {
      await client.close();
    });

    it("connect() pings, send() writes one request per batch with the token, org, bucket and precision", async () => {
      const t = new InfluxTransport(client, { org: "acme", bucket: "b 1", precision: "ns", gzipThreshold: 1_000_000 });
      await t.connect();
      await t.send([item("m a=1 1"), item("m a=2 2"), item("m a=3 3")]);
      assert.deepEqual(
        fake.requests.map((r) => `${r.method} ${r.path}`),
        ["GET /ping", "POST /api/v2/write"],
      );
      const w = fake.writes[0]!;
      assert.equal(w.body, "m a=1 1\nm a=2 2\nm a=3 3");
      assert.equal(w.query.get("org"), "acme");
      assert.equal(w.query.get("bucket"), "b 1");
      assert.equal(w.query.get("precision"), "ns");
      assert.equal(w.headers.authorization, "Token tok-abc");
      assert.equal(w.gzipped, false);
      await t.close();
    });

    it("gzips a body above the threshold", async () => {
      const t = new InfluxTransport(client, { org: "acme", bucket: "b", precision: "ms", gzipThreshold: 100 });
      const batch = Array.from({ length: 20 }, (_, i) => item(`m,source=s value=${i} ${i}`));
      await t.send(batch.slice(0, 1));
      await t.send(batch);
      assert.deepEqual(
        fake.writes.map((w) => w.gzipped),
        [false, true],
      );
      assert.equal(fake.writes[1]!.body, batch.map((b) => b.line).join("\n"));
    });

    it("resolves only on 204", async () => {
      fake.respond = (r) => (r.path === "/api/v2/write" ? { status: 200, body: "{}" } : undefined);
      const t = new InfluxTransport(client, { org: "acme", bucket: "b", precision: "ms" });
      await assert.rejects(
        t.send([item("m a=1 1")]),
        (e: unknown) => e instanceof InfluxError && e.code === "unexpected-status",
      );
    });

    it("reports exact statuses: 400 with the server's message, 401, 404, 503 (retriable)", async () => {
      const answers: Record<string, { status: number; body?: string; headers?: Record<string, string> }> = {
        a: { status: 400, body: '{"error":"partial write: field type conflict"}' },
        b: { status: 401, body: '{"error":"authorization failed for Token tok-abc"}' },
        c: { status: 404, body: '{"error":"bucket \\"b\\" not found"}' },
        d: { status: 503, body: "", headers: { "x-influxdb-error": "overloaded" } },
      };
      fake.respond = (r) => answers[r.query.get("bucket") ?? ""];
      const expect: Record<string, [string, boolean, RegExp]> = {
        a: ["bad-request", false, /partial write: field type conflict/],
        b: ["auth", false, /authentication failed/],
        c: ["not-found", false, /not found/],
        d: ["server", true, /overloaded/],
      };
      for (const [bucket, [code, retriable, re]] of Object.entries(expect)) {
        const t = new InfluxTransport(client, { org: "acme", bucket, precision: "ms" });
        const err = await t.send([item("m a=1 1")]).then(
          () => undefined,
          (e: unknown) => e as InfluxError,
        );
        assert.ok(err instanceof InfluxError, bucket);
        assert.equal(err.code, code);
        assert.equal(err.retriable, retriable);
        assert.match(err.message, re);
        assert.doesNotMatch(err.message, /tok-abc/);
      }
    });

    it("holds the next request back for Retry-After (bounded), and close() cuts the wait", async () => {
      let n = 0;
      fake.respond = () => (n++ === 0 ? { status: 429, headers: { "retry-after": "1" } } : undefined);
      const t = new InfluxTransport(client, { org: "acme", bucket: "b", precision: "ms" }, { maxRetryAfterMs: 300 });
      const e = await t.send([item("m a=1 1")]).catch((x: unknown) => x as InfluxError);
      assert.ok(e instanceof InfluxError);
      assert.equal(e.retryAfterMs, 1000);
      const t0 = Date.now();
      await t.send([item("m a=1 1")]);
      const waited = Date.now() - t0;
      assert.ok(waited >= 250 && waited < 900, `waited ${waited} ms`);

      n = 0;
      const t2 = new InfluxTransport(
        client,
        { org: "acme", bucket: "b", precision: "ms" },
        { maxRetryAfterMs: 10_000 },
      );
      await t2.send([item("m a=1 1")]).catch(() => undefined);
      const t1 = Date.now();
      setTimeout(() => void t2.close(), 50);
      await t2.send([item("m a=1 1")]).catch(() => undefined);
      assert.ok(Date.now() - t1 < 1000);
    });

    it("times out a request that gets no answer (retriable)", async () => {
      fake.respond = () => ({ status: 204, delayMs: 2000 });
      const t0 = Date.now();
      const e = await client.ping().catch((x: unknown) => x as InfluxError);
      assert.ok(e instanceof InfluxError);
      assert.equal(e.code, "timeout");
      assert.equal(e.retriable, true);
      assert.ok(Date.now() - t0 < 1500);
    });

    it("a refused connection is a retriable network error; a closed client refuses", async () => {
      const c = new InfluxClient(resolveConnection({ url: await closedPortUrl(), version: "2", org: "o" }));
      const e = await c.ping().catch((x: unknown) => x as InfluxError);
      assert.ok(e instanceof InfluxError);
      assert.equal(e.code, "network");
      assert.equal(e.retriable, true);
      await c.close();
      const f = await c.ping().catch((x: unknown) => x as InfluxError);
      assert.equal(f instanceof InfluxError && f.code, "closed");
    });
  });

  describe("InfluxClient over TLS (self-signed loopback server)", () => {
    const tlsFake = new FakeInflux({ cert: TEST_CERT, key: TEST_KEY });
    before(async () => {
      await tlsFake.start();
    });
    after(async () => {
      await tlsFake.stop();
    });

    const ping = async (s: Record<string, unknown>, c: Record<string, string> = {}): Promise<unknown> => {
      const client = new InfluxClient(resolveConnection({ url: tlsFake.url, version: "2", org: "o", ...s }, c));
      try {
        await client.ping();
        return undefined;
      } catch (e) {
        return e;
      } finally {
        await client.close();
      }
    };

    it("verifies the server against the configured CA", async () => {
      assert.equal(await ping({}, { tlsCa: TEST_CERT }), undefined);
    });

    it("refuses an unknown certificate for good (not retriable) unless verification is off", async () => {
      const e = await ping({});
      assert.ok(e instanceof InfluxError);
      assert.equal(e.code, "tls");
      assert.equal(e.retriable, false);
      assert.equal(await ping({ tlsRejectUnauthorized: false }), undefined);
    });
  });

  describe("Reachability", () => {
    it("probes while down and announces when the server is back; reportUp stops probing", async () => {
      let up = false;
      let pings = 0;
      const states: string[] = [];
      const r = new Reachability(
        () => {
          pings++;
          return up ? Promise.resolve() : Promise.reject(new Error("down"));
        },
        (s) => states.push(s),
        { initialMs: 10, maxMs: 20, multiplier: 2, factor: 0 },
      );
      r.reportDown("x");
      r.reportDown("y");
      await new Promise((res) => setTimeout(res, 80));
      assert.ok(pings >= 2, `pings ${pings}`);
      up = true;
      await new Promise((res) => setTimeout(res, 60));
      assert.deepEqual(states, ["disconnected", "connected"]);
      const after = pings;
      await new Promise((res) => setTimeout(res, 60));
      assert.equal(pings, after, "no probing while up");
      r.reportDown();
      r.close();
      await new Promise((res) => setTimeout(res, 40));
      assert.equal(pings, after, "no probing after close");
    });
  });
});
