/**
 * Secrets never reach status text, logs or error messages: every text that may quote a server's
 * answer or a URL goes through redact() with the node's credentials.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) {
    if (typeof s === "string" && s.length >= 3) out = out.split(s).join("***");
  }
  // user:password@ in URLs. Every repetition is bounded: unbounded runs made this quadratic, and a
  // server's answer quoting a 1.5 MB refused line froze the event loop for minutes.
  out = out.replace(/([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s/@:]{1,256}):([^\s/@]{1,1024})@/gi, "$1$2:***@");
  // Authorization headers and tokens in text
  out = out.replace(
    /(authorization["']?[ \t]{0,8}[:=][ \t]{0,8}["']?)(token|bearer|basic)\s{1,8}[^\s"',]+/gi,
    "$1$2 ***",
  );
  return out;
}
