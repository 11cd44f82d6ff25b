#!/usr/bin/env -S node --max-semi-space-size=64
// The young generation as deploy/systemd/corral-controller.service sets it (see there).
import "../lib/main.js";
