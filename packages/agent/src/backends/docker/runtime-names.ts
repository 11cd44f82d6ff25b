// One dockerd may serve several emulated hosts on this machine, so every object Corral makes is
// named and labelled with the host it belongs to, and lookups filter by those labels.

export const LABEL_HOST = "corral.host";
export const LABEL_NAME = "corral.name";
/** The Corral spec the container was created from (JSON), so a migration can carry it. */
export const LABEL_SPEC = "corral.spec";

export const runtimeName = (hostName: string, name: string): string => `corral-${hostName}-${name}`;

/** Repository for images made by a restore; the tag is random so restores never collide. */
export const migratedImageRepo = (hostName: string, name: string): string => `corral-migrated/${hostName}-${name}`;

export const isMigratedImage = (ref: string): boolean => ref.startsWith("corral-migrated/");

export const hostFilter = (hostName: string): { label: string[] } => ({ label: [`${LABEL_HOST}=${hostName}`] });
