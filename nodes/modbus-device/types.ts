/** modbus-device config node: settings shared by the runtime and the editor (types only). */
export type ModbusDeviceProtocol = "tcp" | "rtu-over-tcp" | "rtu";
export type ModbusDropPolicy = "drop-oldest" | "refuse-newest";

export interface ModbusDeviceConfig {
  name: string;
  /** Modbus TCP, RTU frames over TCP (serial gateway), or RTU on a serial port. */
  protocol: ModbusDeviceProtocol;
  host: string;
  port: number | string;
  /** rtu: serial device, e.g. /dev/ttyUSB0. */
  serialPath: string;
  baudRate: number | string;
  parity: "none" | "even" | "odd";
  dataBits: number | string;
  stopBits: number | string;
  /** Unit (slave) id 0..255. */
  unitId: number | string;
  /** Answer timeout per request, ms. */
  timeout: number | string;
  /** Reconnect backoff: first delay and cap (<= 10000), ms. */
  reconnectMin: number | string;
  reconnectMax: number | string;
  /** Requests waiting behind the one in flight. */
  queueSize: number | string;
  dropPolicy: ModbusDropPolicy;
  version: number;
}
