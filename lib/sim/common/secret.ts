/** Constant-time comparison of secrets (user names, passwords) for the simulators' servers. */
import crypto from "node:crypto";

/** True when `a` equals `b`; compares SHA-256 digests in constant time, so lengths do not leak either. */
export function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash("sha256").update(a).digest();
  const hb = crypto.createHash("sha256").update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}
