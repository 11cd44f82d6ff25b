// A raw `tar -c | TCP | tar -x` between two emulated hosts, the network-crossing baseline for a
// migration's transfer phase: `node tcp-pipe.js recv ADDR 0 DIR` (prints "listening PORT") /
// `send ADDR PORT DIR NAME`.
// With TLS_DIR set (a host's tls/ directory: ca.pem, host.pem, host.key), the same pipe runs over
// mutual TLS with the hosts' own certificates, which splits what TLS costs from what gRPC costs.
// Each end prints "cpu MS" (its own CPU time, user + system) when it is done: on a loaded machine
// the relays' CPU is a steadier figure than the wall clock.
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";

const [mode, addr, port, dir, name] = process.argv.slice(2);
const tlsDir = process.env.TLS_DIR;
const creds = tlsDir
  ? { ca: readFileSync(join(tlsDir, "ca.pem")), cert: readFileSync(join(tlsDir, "host.pem")), key: readFileSync(join(tlsDir, "host.key")) }
  : undefined;
if (mode === "recv") {
  const onSocket = (sock: net.Socket) => {
    const tar = spawn("tar", ["-x", "--numeric-owner", "-C", dir!], { stdio: ["pipe", "inherit", "inherit"] });
    sock.pipe(tar.stdin);
    tar.on("close", (code) => exitWith(code ?? 1));
  };
  const server = creds
    ? tls.createServer({ ...creds, requestCert: true, rejectUnauthorized: true }, onSocket)
    : net.createServer(onSocket);
  server.listen(Number(port), addr, () => console.log(`listening ${(server.address() as net.AddressInfo).port}`));
} else if (mode === "send") {
  const tar = spawn("tar", ["-c", "--numeric-owner", "-C", dir!, name!], { stdio: ["ignore", "pipe", "inherit"] });
  const sock = creds
    ? tls.connect({ host: addr!, port: Number(port), ...creds, servername: "corral", checkServerIdentity: () => undefined }, () => tar.stdout.pipe(sock))
    : net.connect(Number(port), addr!, () => tar.stdout.pipe(sock));
  sock.on("error", (e) => (console.error(e.message), process.exit(1)));
  sock.on("close", () => exitWith(0));
}

function exitWith(code: number): void {
  const c = process.cpuUsage();
  console.log(`cpu ${Math.round((c.user + c.system) / 1000)}`);
  process.exit(code);
}
