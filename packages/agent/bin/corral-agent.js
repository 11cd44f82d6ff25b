#!/usr/bin/env -S node --initial-old-space-size=64
// The one place the agent's node flags live: systemd runs this file, and local-cluster.sh and the
// tests read the flags from the line above. A 64 MiB floor for the old generation's limit: the
// agent's heap is about 20 MiB, and with node's default limit (1.5 times that) V8 marked the whole
// heap every 150 ms of a migration's transfer, in four threads (0.6 s of CPU per agent per
// 200 MiB). With the floor: one full collection.
import "../lib/main.js";
