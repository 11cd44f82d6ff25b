// npm run bench:usage: the usage sampling bench alone (no cluster needed).
import { parseArgs } from "node:util";
import { benchUsageSampling } from "./usage-sampling.js";

const { values } = parseArgs({ options: { containers: { type: "string", default: "1000" }, samples: { type: "string", default: "10" } } });
await benchUsageSampling(Number(values.containers), Number(values.samples));
