#!/usr/bin/env node
// Runs node-onvif's own discovery (startProbe) once and prints what it found
// as one JSON array on stdout: [{urn, name, hardware, location, types,
// xaddrs, scopes}, ...], exactly the objects node-onvif resolves with.
// Used by tests/integration/peers_test.cc inside a lab namespace; run it with
// NODE_PATH (or ONVIF_NODE_MODULES) pointing at a node_modules directory that
// holds node-onvif (see tests/peers/README.md). Exit 0 after a probe, 1 when
// node-onvif cannot be loaded or its probe fails (the reason on stderr).
'use strict';

const path = require('path');

function loadNodeOnvif() {
  const dir = process.env.ONVIF_NODE_MODULES;
  if (dir) return require(path.join(dir, 'node-onvif'));
  return require('node-onvif');  // NODE_PATH or a node_modules next to this file
}

let onvif;
try {
  onvif = loadNodeOnvif();
} catch (e) {
  process.stderr.write(`node_onvif_probe: cannot load node-onvif: ${e.message}\n`);
  process.exit(1);
}

onvif.startProbe().then((devices) => {
  process.stdout.write(JSON.stringify(devices) + '\n');
  process.exit(0);
}).catch((e) => {
  process.stderr.write(`node_onvif_probe: startProbe failed: ${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
