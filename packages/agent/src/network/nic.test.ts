// A container's NIC as each backend writes it, and what an archive from another host may carry of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { macOf, parseCidr, type Nic } from "./nic.js";
import { networkOf } from "./host-network.js";
import { LxcConfig, setNic } from "../backends/lxc/config.js";
import { checkLxcConfig } from "../backends/lxc/config-policy.js";
import { hasNestingRawLxc, isCorralRawLxc, isNicRawLxc, nicDevices, nicRawLxc, rawLxc, specToConfig, utsOfRawLxc } from "../backends/lxd/config.js";
import type { ContainerSpec } from "@corral/wire";
import { checkLxdBackup } from "../backends/lxd/config-policy.js";

const nic: Nic = { address: "10.240.0.5/16", ip: "10.240.0.5", gateway: "10.240.0.1", bridge: "corral0", mtu: 1450, mac: macOf("10.240.0.5") };

test("addresses: CIDRs are checked, the MAC follows the address, the pool is the bridge's network", () => {
  assert.equal(macOf("10.240.0.5"), "0a:58:0a:f0:00:05");
  assert.deepEqual(parseCidr("10.240.3.7/16"), { ip: "10.240.3.7", prefix: 16 });
  for (const bad of ["10.240.0.5", "10.240.0.256/16", "10.240.0.5/33", "1.2.3.4/16; rm -rf /", "-i/16"]) {
    assert.throws(() => parseCidr(bad), /is not an IPv4 address with a prefix length/, bad);
  }
  assert.equal(networkOf("10.240.7.1/16"), "10.240.0.0/16");
  assert.equal(networkOf("192.168.5.9/24"), "192.168.5.0/24");
});

test("LXC: a veth on the bridge with the address and gateway; another host's network keys are replaced", () => {
  const cfg = new LxcConfig("lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.net.0.flags = up\nlxc.uts.name = web\n");
  const text = setNic(cfg, nic).toString();
  assert.doesNotMatch(text, /lxcbr0/);
  for (const line of [
    "lxc.net.0.type = veth",
    "lxc.net.0.link = corral0",
    "lxc.net.0.hwaddr = 0a:58:0a:f0:00:05",
    "lxc.net.0.mtu = 1450",
    "lxc.net.0.ipv4.address = 10.240.0.5/16",
    "lxc.net.0.ipv4.gateway = 10.240.0.1",
  ]) {
    assert.ok(text.includes(`${line}\n`), line);
  }
  // What Corral writes passes the policy an incoming archive is checked against; a script does not.
  checkLxcConfig(text, "web");
  assert.equal(new LxcConfig(text).get("lxc.net.0.type"), "veth");
  const lines = (t: string) => t.split("\n").filter(Boolean);
  assert.deepEqual(lines(setNic(new LxcConfig(text), undefined).toString()), ["lxc.uts.name = web", "lxc.net.0.type = empty"]);
  assert.throws(() => checkLxcConfig("lxc.net.0.script.up = /tmp/x\n", "web"), /sets "lxc.net.0.script.up"/);
  assert.throws(() => checkLxcConfig("lxc.net.0.type = phys\n", "web"), /lxc.net.0.type/);
  assert.throws(() => checkLxcConfig("lxc.net.0.ipv4.gateway = 10.0.0.1; reboot\n", "web"), /lxc.net.0.ipv4.gateway/);
});

test("LXD: the bridged NIC and its raw.lxc address pass the backup policy; any other raw.lxc or NIC does not", () => {
  const backup = (config: Record<string, string>, devices: Record<string, Record<string, string>>) => {
    // Copies: YAML would write one object twice as an anchor and an alias, which the policy refuses.
    const copy = <T>(v: T): T => structuredClone(v);
    const container = () => ({ config: copy(config), expanded_config: copy(config), devices: copy(devices), expanded_devices: copy(devices), profiles: ["default"] });
    return new Map([
      ["backup/index.yaml", Buffer.from(stringify({ config: { container: container() } }))],
      ["backup/container/backup.yaml", Buffer.from(stringify({ container: container() }))],
    ]);
  };
  const raw = nicRawLxc(nic);
  assert.equal(raw, "lxc.net.0.ipv4.address = 10.240.0.5/16\nlxc.net.0.ipv4.gateway = 10.240.0.1\n");
  assert.ok(isNicRawLxc(raw));
  checkLxdBackup(backup({ "raw.lxc": raw }, nicDevices(nic, "corral0")));
  assert.throws(() => checkLxdBackup(backup({ "raw.lxc": `${raw}lxc.mount.entry = /etc etc none bind 0 0\n` }, {})), /"raw.lxc"/);
  assert.throws(
    () => checkLxdBackup(backup({}, { eth0: { ...nicDevices(nic, "corral0").eth0!, nictype: "physical" } })),
    /device "eth0" is a NIC Corral did not write/,
  );
  assert.throws(() => checkLxdBackup(backup({}, { eth0: { ...nicDevices(nic, "corral0").eth0!, "ipv4.routes": "0.0.0.0/0" } })), /NIC Corral did not write/);
});

test("LXD: --nesting's cgroup mount and the NIC's address share raw.lxc; both are kept, and nesting's line passes only when granted", () => {
  const spec: ContainerSpec = { name: "dockerhost", backend: "lxd", image: "debian-docker", template: "", env: [], cmd: [], labels: {}, ports: [], limits: { memoryBytes: 0, cpus: 0 }, nesting: true };
  const cfg = specToConfig("host1", spec, nic);
  assert.equal(cfg["raw.lxc"], `lxc.mount.auto = cgroup:mixed:force\n${nicRawLxc(nic)}`);
  assert.equal(cfg["security.nesting"], "true");
  assert.equal(specToConfig("host1", { ...spec, nesting: false }, nic)["raw.lxc"], nicRawLxc(nic));
  assert.equal(specToConfig("host1", spec)["raw.lxc"], "lxc.mount.auto = cgroup:mixed:force\n");
  assert.equal(specToConfig("host1", { ...spec, nesting: false })["raw.lxc"], undefined);
  // The restored instance keeps its nesting line beside the new host's address.
  assert.ok(hasNestingRawLxc(cfg["raw.lxc"]));
  assert.ok(!hasNestingRawLxc(nicRawLxc(nic)));
  assert.ok(isCorralRawLxc(cfg["raw.lxc"]!, true));
  assert.ok(isCorralRawLxc("lxc.mount.auto = cgroup:mixed:force", true));
  assert.ok(!isCorralRawLxc(cfg["raw.lxc"]!, false));
  assert.ok(!isCorralRawLxc(`lxc.mount.auto = cgroup:mixed:force\nlxc.mount.entry = /etc etc none bind 0 0\n`, true));
  assert.ok(!isCorralRawLxc("", true));
});

test("LXD: a converted container's hostname is raw.lxc's lxc.uts.name, between nesting's line and the address; it survives a move and nothing else passes as it", () => {
  const raw = rawLxc(true, nic, "web.example")!;
  assert.equal(raw, `lxc.mount.auto = cgroup:mixed:force\nlxc.uts.name = web.example\n${nicRawLxc(nic)}`);
  assert.equal(utsOfRawLxc(raw), "web.example");
  assert.equal(utsOfRawLxc(rawLxc(false, nic, "web")), "web");
  assert.equal(utsOfRawLxc(nicRawLxc(nic)), undefined);
  assert.ok(isCorralRawLxc(raw, true));
  assert.ok(isCorralRawLxc(rawLxc(false, undefined, "web")!, false));
  assert.ok(!isCorralRawLxc(raw, false), "nesting's line still needs the grant");
  assert.ok(!isCorralRawLxc(`lxc.uts.name = web\nlxc.uts.name = web2\n${nicRawLxc(nic)}`, false));
  assert.ok(!isCorralRawLxc(`lxc.uts.name = web;reboot\n`, false));
  assert.throws(() => rawLxc(false, nic, "-bad"), /not a hostname/);
});
