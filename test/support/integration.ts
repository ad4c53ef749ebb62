/**
 * Integration tests use real servers started by scripts/test-services.sh (npm test starts them).
 * Outside CI a developer may skip them with LINEGUARD_SKIP_SERVICES=1; in CI a missing server is a
 * failure with a clear message, never a skip.
 */
import net from "node:net";

export type ServiceName = "kafka" | "influxdb" | "mosquitto";

const DEFAULT_ADDR: Record<ServiceName, string> = {
  kafka: process.env.LINEGUARD_TEST_KAFKA ?? "127.0.0.1:39092",
  influxdb: (process.env.LINEGUARD_TEST_INFLUX ?? "http://127.0.0.1:38086").replace(/^https?:\/\//, ""),
  mosquitto: (process.env.LINEGUARD_TEST_MQTT ?? "mqtt://127.0.0.1:31883").replace(/^mqtts?:\/\//, ""),
};

function reachable(addr: string, timeoutMs = 2000): Promise<boolean> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(t);
      s.end();
      resolve(true);
    });
    s.once("error", () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** Call in a `before` hook: skips (dev only) or fails (CI) when the server is not reachable. */
export async function requireService(ctx: Mocha.Context, name: ServiceName): Promise<void> {
  const addr = DEFAULT_ADDR[name];
  if (process.env.LINEGUARD_SKIP_SERVICES === "1" && process.env.CI !== "true") {
    ctx.skip();
    return;
  }
  if (!(await reachable(addr))) {
    throw new Error(
      `${name} is not reachable at ${addr}. Start the test servers with "bash scripts/test-services.sh start ${name}" ` +
        `(npm test does this), or set LINEGUARD_SKIP_SERVICES=1 outside CI to skip integration tests.`,
    );
  }
}

/** A unique name per test run, for topics, buckets and consumer groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Poll `fn` until it returns a truthy value or the timeout passes. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 20000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
