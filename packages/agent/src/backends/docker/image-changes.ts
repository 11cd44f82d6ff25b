// Dockerfile instructions for `import ?changes=`, so the migrated image itself carries the
// container's config (a plain `docker export | docker import` loses Cmd and Env). The restored
// container also gets the same values in its own config, which stays the exact source of truth:
// values that Dockerfile syntax cannot carry safely (newlines, odd characters) are left out here.

export interface ImageConfig {
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  WorkingDir: string;
  User: string;
  Labels: Record<string, string>;
  ExposedPorts: Record<string, Record<string, never>>;
}

const quote = (s: string): string => `"${s.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
const oneLine = (s: string): boolean => !/[\r\n]/.test(s);
const plainWord = (s: string): boolean => /^[A-Za-z0-9_./:@+-]+$/.test(s);

export function imageChanges(c: ImageConfig): string[] {
  const out: string[] = [];
  for (const kv of c.Env) {
    const eq = kv.indexOf("=");
    if (eq <= 0 || !oneLine(kv) || !plainWord(kv.slice(0, eq))) continue;
    out.push(`ENV ${kv.slice(0, eq)}=${quote(kv.slice(eq + 1))}`);
  }
  // Exec (JSON) form: no shell, no variable expansion, any character survives.
  if (c.Entrypoint?.length) out.push(`ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
  if (c.Cmd?.length) out.push(`CMD ${JSON.stringify(c.Cmd)}`);
  if (c.WorkingDir && plainWord(c.WorkingDir)) out.push(`WORKDIR ${c.WorkingDir}`);
  if (c.User && plainWord(c.User)) out.push(`USER ${c.User}`);
  for (const port of Object.keys(c.ExposedPorts)) if (/^\d+\/(tcp|udp|sctp)$/.test(port)) out.push(`EXPOSE ${port}`);
  for (const [k, v] of Object.entries(c.Labels)) {
    if (oneLine(k) && oneLine(v)) out.push(`LABEL ${quote(k)}=${quote(v)}`);
  }
  return out;
}
