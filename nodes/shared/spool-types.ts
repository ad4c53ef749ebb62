/** Store-and-forward properties of the sink nodes (types only: shared by the runtime and the editors). */
export type SpoolMode = "disk" | "memory";
export type SpoolFsync = "interval" | "always" | "never";
export type SpoolReplayOrder = "live-first" | "fifo";

export interface SpoolProps {
  spool: SpoolMode;
  /** Bound of the disk spool in MiB. */
  spoolMaxMB: number | string;
  spoolFsync: SpoolFsync;
  /** Replay drain rate, records/s; 0 = unlimited. */
  replayRate: number | string;
  replayOrder: SpoolReplayOrder;
}
