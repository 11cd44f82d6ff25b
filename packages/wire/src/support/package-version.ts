import { readFileSync } from "node:fs";

/**
 * The version in the package.json next to a package's lib/ folder, given a URL inside lib/
 * (`import.meta.url` of a file directly in lib/). "unknown" when it cannot be read, so that a
 * `version` command never fails for want of it.
 */
export function packageVersion(libFileUrl: string): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", libFileUrl), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
