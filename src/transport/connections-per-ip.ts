/**
 * Open sockets per client IP address. The count is taken at the handshake and given back when the
 * TCP socket closes, whatever ends it.
 *
 * Behind a reverse proxy the address is the forwarded client's when the proxy is trusted
 * (`trustProxy`); otherwise every client has the proxy's address and shares one count.
 */
export class ConnectionsPerIp {
  readonly #limit: number;
  readonly #open = new Map<string, number>();

  /** `limit` 0 admits everything. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Counts a new socket from `ip`; false (and nothing counted) when the address is at its limit. */
  acquire(ip: string): boolean {
    if (this.#limit === 0) return true;
    const open = this.#open.get(ip) ?? 0;
    if (open >= this.#limit) return false;
    this.#open.set(ip, open + 1);
    return true;
  }

  release(ip: string): void {
    if (this.#limit === 0) return;
    const open = this.#open.get(ip);
    if (open === undefined) return;
    if (open <= 1) this.#open.delete(ip);
    else this.#open.set(ip, open - 1);
  }
}
