#!/usr/bin/env -S node --max-semi-space-size=64
// The one place the controller's node flags live: systemd runs this file, and local-cluster.sh and
// the tests read the flags from the line above. A 64 MiB young generation (node's default is 16):
// what a burst of creates holds until its group commit then dies young instead of being copied
// into the old generation; bench:scheduler spent a fifth less CPU per placement (it runs with the
// same flag).
import "../lib/main.js";
