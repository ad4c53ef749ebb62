/** freePort moved to lib/sim/common/net.ts (shared by every simulator); re-exported here. */
export { freePort } from "../common/net";
