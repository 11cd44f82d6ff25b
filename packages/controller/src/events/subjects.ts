// NATS subjects of every event the controller emits.
export const SUBJECTS = {
  hostRegistered: "corral.host.registered",
  hostDown: "corral.host.down",
  hostUp: "corral.host.up",
  hostLabels: "corral.host.labels",
  hostState: "corral.host.state",
  hostOvercommit: "corral.host.overcommit",
  clusterSetting: "corral.cluster.setting",
  hostRemoved: "corral.host.removed",
  containerCreated: "corral.container.created",
  containerStarted: "corral.container.started",
  containerStopped: "corral.container.stopped",
  containerRemoved: "corral.container.removed",
  containerLimits: "corral.container.limits",
  containerLost: "corral.container.lost",
  containerFound: "corral.container.found",
  migrationStarted: "corral.migration.started",
  migrationProgress: "corral.migration.progress",
  migrationDone: "corral.migration.done",
  migrationRolledBack: "corral.migration.rolled_back",
} as const;

export const STREAM_NAME = "CORRAL";
export const STREAM_SUBJECTS = ["corral.>"];
