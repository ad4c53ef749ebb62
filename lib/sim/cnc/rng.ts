/** The seeded generator moved to lib/sim/common/rng.ts (shared by every simulator); re-exported here. */
export { Rng, deriveSeed } from "../common/rng";
