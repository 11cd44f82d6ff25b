// A raw `tar -c | TCP | tar -x` between two emulated hosts, the network-crossing baseline for a
// migration's transfer phase: `node tcp-pipe.js recv ADDR PORT DIR` / `send ADDR PORT DIR NAME`.
import net from "node:net";
import { spawn } from "node:child_process";

const [mode, addr, port, dir, name] = process.argv.slice(2);
if (mode === "recv") {
  const server = net.createServer((sock) => {
    const tar = spawn("tar", ["-x", "--numeric-owner", "-C", dir!], { stdio: ["pipe", "inherit", "inherit"] });
    sock.pipe(tar.stdin);
    tar.on("close", (code) => process.exit(code ?? 1));
  });
  server.listen(Number(port), addr, () => console.log("listening"));
} else if (mode === "send") {
  const tar = spawn("tar", ["-c", "--numeric-owner", "-C", dir!, name!], { stdio: ["ignore", "pipe", "inherit"] });
  const sock = net.connect(Number(port), addr!, () => tar.stdout.pipe(sock));
  sock.on("error", (e) => (console.error(e.message), process.exit(1)));
}
