// Corral names ↔ OpenVZ CTIDs. CTIDs are numbers and Corral names are not, so this host keeps the
// mapping in `${stateDir}/openvz/ctids.json`; the config also carries NAME="<corral name>".
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export class CtidMap {
  private byName = new Map<string, number>();
  private loaded = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly file: string) {}

  /** Runs `fn` with the map loaded, one caller at a time (create, restore and destroy change it). */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      await this.load();
      return fn();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  async get(name: string): Promise<number | undefined> {
    await this.load();
    return this.byName.get(name);
  }

  async entries(): Promise<[string, number][]> {
    await this.load();
    return [...this.byName.entries()];
  }

  /** Synchronous view for usage(): the map as last loaded. */
  snapshot(): [string, number][] {
    return [...this.byName.entries()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  usesCtid(ctid: number): boolean {
    for (const v of this.byName.values()) if (v === ctid) return true;
    return false;
  }

  async set(name: string, ctid: number): Promise<void> {
    this.byName.set(name, ctid);
    await this.save();
  }

  async delete(name: string): Promise<void> {
    if (this.byName.delete(name)) await this.save();
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    try {
      const data = JSON.parse(await readFile(this.file, "utf8")) as { containers?: Record<string, number> };
      this.byName = new Map(Object.entries(data.containers ?? {}));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    this.loaded = true;
  }

  private async save(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const containers = Object.fromEntries([...this.byName.entries()].sort((a, b) => a[1] - b[1]));
    await writeFile(tmp, JSON.stringify({ containers }, null, 2) + "\n");
    await rename(tmp, this.file);
  }
}
