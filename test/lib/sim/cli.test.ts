/** lineguard-sim CLI: generate (deterministic CSV), run + control commands over the HTTP API. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { main, parseArgs } from "../../../lib/sim/cli";
import { parseFailureSchedule, parseDuration } from "../../../lib/sim/cnc/generate";
import type { CncSimulator } from "../../../lib/sim/cnc/simulator";
import { capture } from "../../support/cli-io";

const run = promisify(execFile);

describe("lib/sim/cli", function () {
  this.timeout(30000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-sim-cli-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("parses arguments, durations and failure schedules", () => {
    const { positional, opts } = parseArgs(["inject", "cnc-01", "tool-wear", "--ramp", "30", "--labels", "--x=1"]);
    assert.deepEqual(positional, ["inject", "cnc-01", "tool-wear"]);
    assert.equal(opts.get("ramp"), "30");
    assert.equal(opts.get("labels"), "true");
    assert.equal(opts.get("x"), "1");
    assert.throws(() => parseArgs(["--rate"]), /needs a value/);
    assert.equal(parseDuration("90"), 90);
    assert.equal(parseDuration("30m"), 1800);
    assert.equal(parseDuration("1.5h"), 5400);
    assert.throws(() => parseDuration("soon"), /bad duration/);
    assert.deepEqual(parseFailureSchedule("cnc-01:bearing-wear@2h+30m, cnc-02:coolant-loss@90s"), [
      { machine: "cnc-01", type: "bearing-wear", atSeconds: 7200, rampSeconds: 1800 },
      { machine: "cnc-02", type: "coolant-loss", atSeconds: 90, rampSeconds: 600 },
    ]);
    assert.throws(() => parseFailureSchedule("cnc-01:melting@1h"), /unknown failure type/);
    assert.throws(() => parseFailureSchedule("cnc-01"), /bad failure/);
  });

  it("generate writes a deterministic CSV with all tags and labels", async () => {
    const args = (seed: number, out: string) => [
      "generate",
      "--machines",
      "3",
      "--hours",
      "0.5",
      "--rate",
      "2",
      "--seed",
      String(seed),
      "--failures",
      "cnc-02:coolant-loss@10m+5m",
      "--out",
      out,
    ];
    const a = path.join(dir, "a.csv");
    const b = path.join(dir, "b.csv");
    const c = path.join(dir, "c.csv");
    for (const [seed, out] of [
      [42, a],
      [42, b],
      [43, c],
    ] as const) {
      const io = capture();
      assert.equal(await main(args(seed, out), io), 0, io.stderr);
    }
    const textA = fs.readFileSync(a, "utf8");
    assert.equal(textA, fs.readFileSync(b, "utf8"), "same seed, same bytes");
    assert.notEqual(textA, fs.readFileSync(c, "utf8"));
    const lines = textA.trim().split("\n");
    const header = lines[0].split(",");
    assert.deepEqual(header.slice(0, 4), ["timestamp", "ts_ms", "machine_id", "vendor"]);
    for (const col of [
      "spindle_speed",
      "vibration_rms",
      "coolant_flow",
      "part_count",
      "anomaly",
      "failure_type",
      "severity",
    ]) {
      assert.ok(header.includes(col), col);
    }
    assert.equal(lines.length - 1, 3 * 0.5 * 3600 * 2);
    const rows = lines.slice(1).map((l) => l.split(","));
    assert.ok(rows.every((r) => r.length === header.length));
    const ft = header.indexOf("failure_type");
    const failing = rows.filter((r) => r[ft] === "coolant-loss");
    assert.ok(failing.length > 0 && failing.every((r) => r[2] === "cnc-02"));
    assert.ok(!fs.readdirSync(dir).some((f) => f.includes(".part-")), "no temp file left");
  });

  it("generate --no-labels drops the label columns; bad options exit 1 with a message", async () => {
    const io = capture();
    assert.equal(await main(["generate", "--hours", "60s", "--rate", "1", "--machines", "1", "--no-labels"], io), 0);
    const lines = io.stdout.trim().split("\n");
    assert.equal(lines.length, 61);
    assert.ok(!lines[0].includes("anomaly"));
    for (const bad of [
      ["generate", "--rate", "0"],
      ["generate", "--rate", "fast"],
      ["generate", "--hours", "-1"],
      ["generate", "--failures", "cnc-09:tool-wear@1m"],
      ["generate", "--machines", "2.5"],
    ]) {
      const e = capture();
      assert.equal(await main(bad, e), 1, bad.join(" "));
      assert.match(e.stderr, /^lineguard-sim: /);
    }
    const u = capture();
    assert.equal(await main(["bogus"], u), 2);
    assert.match(u.stderr, /unknown command/);
    const h = capture();
    assert.equal(await main(["help"], h), 0);
    assert.match(h.stdout, /Usage: lineguard-sim/);
  });

  it("runs as a process: compiled cli.js generate to stdout", async () => {
    const cli = path.join(__dirname, "..", "..", "..", "lib", "sim", "cli.js");
    const { stdout } = await run(process.execPath, [
      cli,
      "generate",
      "--hours",
      "10s",
      "--machines",
      "2",
      "--seed",
      "1",
    ]);
    assert.equal(stdout.trim().split("\n").length, 21);
  });

  it("bin/lineguard-sim launches the built CLI (dist/, built by npm test)", async function () {
    let root = __dirname;
    while (!fs.existsSync(path.join(root, "package.json"))) root = path.dirname(root);
    const bin = path.join(root, "bin", "lineguard-sim");
    const { stdout } = await run(process.execPath, [bin, "help"]);
    assert.match(stdout, /Usage: lineguard-sim/);
  });

  it("run starts the servers; inject/state/clear/maintenance/rate talk to it over HTTP", async () => {
    let stop!: () => void;
    const stopSignal = new Promise<void>((r) => (stop = r));
    let sim: CncSimulator | undefined;
    let runExit: Promise<number> = Promise.resolve(-1);
    const started = new Promise<void>((resolve) => {
      const io = capture();
      io.stopSignal = stopSignal;
      io.onStarted = (s) => {
        sim = s;
        resolve();
      };
      runExit = main(
        [
          "run",
          "--machines",
          "2",
          "--rate",
          "10",
          "--opcua-port",
          "0",
          "--mqtt-port",
          "0",
          "--http-port",
          "0",
          "--pki-dir",
          dir,
        ],
        io,
      );
    });
    await Promise.race([started, runExit.then((c) => Promise.reject(new Error(`run exited ${c}`)))]);
    try {
      const url = sim!.http!.url;
      assert.match(sim!.status().endpoints.opcua, /^opc\.tcp:\/\/127\.0\.0\.1:\d+\/UA\/LineGuardSim$/);
      const ctl = async (...argv: string[]) => {
        const io = capture();
        const code = await main([...argv, "--url", url], io);
        return { code, out: io.stdout, err: io.stderr };
      };
      const inj = await ctl("inject", "cnc-01", "bearing-wear", "--ramp", "60");
      assert.equal(inj.code, 0, inj.err);
      assert.equal(JSON.parse(inj.out).failure.type, "bearing-wear");
      assert.equal(sim!.fleet.get("cnc-01").activeFailure?.type, "bearing-wear");
      const st = await ctl("state", "cnc-01");
      assert.equal(JSON.parse(st.out).id, "cnc-01");
      assert.equal(JSON.parse((await ctl("state")).out).machines.length, 2);
      assert.equal((await ctl("clear", "cnc-01")).code, 0);
      assert.equal(sim!.fleet.get("cnc-01").activeFailure, undefined);
      assert.equal(JSON.parse((await ctl("maintenance", "cnc-02", "--seconds", "5")).out).state, "maintenance");
      assert.equal(JSON.parse((await ctl("rate", "25")).out).rate, 25);
      const bad = await ctl("inject", "cnc-01", "melting");
      assert.equal(bad.code, 1);
      assert.match(bad.err, /400/);
      const missing = await ctl("inject");
      assert.equal(missing.code, 1);
      assert.match(missing.err, /needs a machine id/);
    } finally {
      stop();
    }
    assert.equal(await runExit, 0);
  });

  it("control commands fail cleanly when no simulator listens", async () => {
    const io = capture();
    assert.equal(await main(["state", "--url", "http://127.0.0.1:1"], io), 1);
    assert.match(io.stderr, /lineguard-sim: /);
  });
});
