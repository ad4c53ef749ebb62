/** detect: settings shared by the runtime and the editor (types only). */
export interface DetectConfig {
  name: string;
  /**
   * The ONNX model: "lineguard:yolo-glass" (the model shipped in the package, models/yolo-glass/model.onnx),
   * an absolute path, or a path relative to the Node-RED user dir (then to the package).
   */
  model: string;
  /** Confidence threshold (0..1). */
  conf: number | string;
  /** IoU threshold of the NMS (0..1). */
  iou: number | string;
  /** At most this many detections per frame. */
  maxDetections: number | string;
  /** Class names override, comma separated ("" = from the model's metadata or manifest). */
  classNames: string;
  /** Draw the boxes onto a JPEG in msg.annotated. */
  annotate: boolean;
  /** Keep the input frame in msg.frame. */
  keepFrame: boolean;
  /** onnxruntime intra-op threads of the node's worker. */
  threads: number | string;
  /** Frames waiting while one is detected; older ones are dropped (latest wins). */
  queue: number | string;
  version: number;
}
