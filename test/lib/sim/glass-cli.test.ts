/** lineguard-sim glass ...: generate (deterministic CSV), run + control commands over the HTTP API. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { USAGE, main } from "../../../lib/sim/cli";
import type { GlassSimulator } from "../../../lib/sim/glass/simulator";
import { capture } from "../../support/cli-io";

describe("lib/sim/cli: glass commands", function () {
  this.timeout(30000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-glass-cli-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("glass generate writes a deterministic CSV; bad options fail with exit code 1", async () => {
    const args = (seed: number, out: string) => [
      "glass",
      "generate",
      "--lines",
      "2",
      "--hours",
      "10m",
      "--seed",
      String(seed),
      "--failures",
      "glass-02:burner-failure/3@2m+1m",
      "--out",
      out,
    ];
    const files = ["a", "b", "c"].map((n) => path.join(dir, `${n}.csv`));
    for (const [i, seed] of [42, 42, 43].entries()) {
      const io = capture();
      assert.equal(await main(args(seed, files[i]!), io), 0, io.stderr);
      assert.match(io.stderr, /wrote 1200 rows/);
    }
    const [a, b, c] = files.map((f) => fs.readFileSync(f, "utf8"));
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a!.split("\n")[0]!, /^timestamp,ts_ms,line_id,line_state,/);
    assert.match(a!.trim().split("\n").at(-1)!, /,glass-02,.*,1,burner-failure,1$/);
    const stdout = capture();
    assert.equal(await main(["glass", "generate", "--hours", "5s", "--no-labels"], stdout), 0);
    assert.equal(stdout.stdout.trim().split("\n").length, 6);
    assert.doesNotMatch(stdout.stdout.split("\n")[0]!, /severity/);
    for (const bad of [
      ["glass", "generate", "--failures", "glass-01:melting@1h"],
      ["glass", "generate", "--failures", "glass-07:thickness-drift@1h"],
      ["glass", "generate", "--hours", "0"],
    ]) {
      const e = capture();
      assert.equal(await main(bad, e), 1, bad.join(" "));
    }
    const u = capture();
    assert.equal(await main(["glass", "bogus"], u), 2);
    assert.match(u.stderr, /unknown glass command/);
    assert.match(USAGE, /lineguard-sim glass <command>/);
  });

  it("glass run starts Modbus, OPC UA and HTTP; control commands talk to it", async () => {
    let stop!: () => void;
    const stopSignal = new Promise<void>((r) => (stop = r));
    let sim: GlassSimulator | undefined;
    let runExit: Promise<number> = Promise.resolve(-1);
    const started = new Promise<void>((resolve) => {
      const io = capture();
      io.stopSignal = stopSignal;
      io.onGlassStarted = (s) => {
        sim = s;
        resolve();
      };
      runExit = main(
        [
          "glass",
          "run",
          "--rate",
          "10",
          "--modbus-port",
          "0",
          "--opcua-port",
          "0",
          "--http-port",
          "0",
          "--no-camera",
          "--pki-dir",
          dir,
        ],
        io,
      );
    });
    await Promise.race([started, runExit.then((c) => Promise.reject(new Error(`run exited ${c}`)))]);
    try {
      const url = sim!.http!.url;
      const st = sim!.status();
      assert.match(st.endpoints.modbus!, /^modbus-tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.match(st.endpoints.opcua!, /^opc\.tcp:\/\/127\.0\.0\.1:\d+\/UA\/LineGuardGlass$/);
      const ctl = async (...argv: string[]) => {
        const io = capture();
        const code = await main(["glass", ...argv, "--url", url], io);
        return { code, out: io.stdout, err: io.stderr };
      };
      const inj = await ctl("inject", "glass-01", "furnace-zone-drift", "--ramp", "60", "--zone", "4");
      assert.equal(inj.code, 0, inj.err);
      assert.equal(JSON.parse(inj.out).failure.zone, 4);
      assert.equal(sim!.plant.get("glass-01").activeFailure?.type, "furnace-zone-drift");
      assert.equal(JSON.parse((await ctl("state", "glass-01")).out).id, "glass-01");
      assert.equal(JSON.parse((await ctl("state")).out).lines.length, 1);
      assert.equal((await ctl("clear", "glass-01")).code, 0);
      assert.equal(sim!.plant.get("glass-01").activeFailure, undefined);
      assert.equal((await ctl("ack", "glass-01")).code, 0);
      assert.equal(JSON.parse((await ctl("maintenance", "glass-01", "--seconds", "5")).out).state, "maintenance");
      assert.equal(JSON.parse((await ctl("rate", "4")).out).rate, 4);
      const cam = await ctl("camera-inject", "crack");
      assert.equal(cam.code, 1);
      assert.match(cam.err, /404/);
      const missing = await ctl("inject");
      assert.equal(missing.code, 1);
      assert.match(missing.err, /needs a line id/);
    } finally {
      stop();
    }
    assert.equal(await runExit, 0);
  });
});
