/**
 * Connection registry for config nodes (convention 5): a config node owns one client; the nodes
 * that use it register and deregister, and learn the connection state. The client is created on
 * the first registration and closed when the config node closes; close always completes.
 */
export type ConnState = "connecting" | "connected" | "disconnected" | "error" | "closed";

export type StateListener = (state: ConnState, detail?: string) => void;

export class SharedConnection<C> {
  private client: C | undefined;
  private readonly users = new Map<string, StateListener>();
  private _state: ConnState = "disconnected";
  private detail: string | undefined;
  private closed = false;

  constructor(
    private readonly create: () => C,
    private readonly destroy: (client: C) => Promise<void>,
  ) {}

  get state(): ConnState {
    return this._state;
  }

  get userCount(): number {
    return this.users.size;
  }

  /** Register a user; returns the shared client (created on first use). */
  register(userId: string, listener: StateListener = () => undefined): C {
    if (this.closed) throw new Error("connection is closed");
    this.users.set(userId, listener);
    if (this.client === undefined) this.client = this.create();
    listener(this._state, this.detail);
    return this.client;
  }

  deregister(userId: string): void {
    this.users.delete(userId);
  }

  /** The client, if one was created. */
  peek(): C | undefined {
    return this.client;
  }

  setState(state: ConnState, detail?: string): void {
    this._state = state;
    this.detail = detail;
    for (const l of this.users.values()) {
      try {
        l(state, detail);
      } catch {
        // a listener must not break the others
      }
    }
  }

  /** Close the client; resolves even when the client's close fails or hangs past timeoutMs. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    if (c !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.destroy(c).catch(() => undefined),
        new Promise<void>((r) => {
          timer = setTimeout(r, timeoutMs);
        }),
      ]);
      if (timer) clearTimeout(timer);
    }
    this.setState("closed");
    this.users.clear();
  }
}
