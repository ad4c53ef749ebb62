/** camera in: settings shared by the runtime and the editor (types only). */
export type CameraMode = "http-snapshot" | "mjpeg" | "folder" | "input";
export type CameraAfterRead = "keep" | "delete" | "move";

export interface CameraInConfig {
  name: string;
  /** Where frames come from: HTTP snapshots polled at a rate, an MJPEG stream, a watched folder, or input messages. */
  mode: CameraMode;
  /** Camera URL (http-snapshot, mjpeg). Credentials may also be given as user:password@ in the URL. */
  url: string;
  /** ms between snapshots; 0 = one snapshot per input message. */
  interval: number | string;
  /** ms: connect/answer timeout, and the longest silence of a stream before reconnecting. */
  timeout: number | string;
  /** Watched folder (folder mode). */
  folder: string;
  afterRead: CameraAfterRead;
  /** Where read files go with afterRead "move". */
  moveTo: string;
  /** The frames' source id (msg.topic); empty = the node name or "camera". */
  sourceId: string;
  /** Frames out to consumers that have not released them yet (back-pressure), 1..16. */
  maxInFlight: number | string;
  /** Largest accepted frame in MB. */
  maxFrameMB: number | string;
  version: number;
}

export interface CameraInCredentials {
  user?: string;
  password?: string;
}
