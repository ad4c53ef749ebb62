/**
 * Secrets never reach status text, logs or error messages: every text that may quote a server's
 * answer or a URL goes through redact() with the node's credentials.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (typeof s === "string" && s.length >= 3) out = out.split(s).join("***");
  }
  // user:password@ in URLs
  out = out.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+):([^\s/@]+)@/gi, "$1$2:***@");
  // Authorization headers and tokens in text
  out = out.replace(/(authorization["']?\s*[:=]\s*["']?)(token|bearer|basic)\s+[^\s"',]+/gi, "$1$2 ***");
  return out;
}
