#!/usr/bin/env -S node --initial-old-space-size=64
import "../lib/main.js";
