import type { CliIo } from "../../lib/sim/cli";

/** A CliIo that keeps what lineguard-sim prints (tests of the CLI commands). */
export function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
  };
  return io;
}
