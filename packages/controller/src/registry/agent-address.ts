// The address the controller dials an agent on. An agent listening on 0.0.0.0 or [::] reports that;
// the peer address of its registration call then tells which interface reached us.
export function dialAddress(reported: string, peer: string): string {
  const m = /^(.*):(\d+)$/.exec(reported);
  if (!m) return reported;
  const [, hostPart, port] = m;
  if (hostPart && !["0.0.0.0", "[::]", "::", ""].includes(hostPart)) return reported;
  const peerHost = peerIp(peer);
  return peerHost ? `${peerHost}:${port}` : reported;
}

/** grpc-js peers look like "ipv4:10.0.0.1:5000", "ipv6:[::1]:5000" or "10.0.0.1:5000". */
function peerIp(peer: string): string | undefined {
  const p = peer.replace(/^ipv[46]:/, "");
  const m = /^(\[[^\]]+\]|[^:]+):\d+$/.exec(p);
  return m?.[1];
}
