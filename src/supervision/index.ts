// The supervision layer's entry: re-exports only.
export {
  withSupervisor,
  type Supervisor,
  type SupervisorOptions,
  type SupervisorErrorHandler,
  type FailureInfo,
} from "./supervisor.js";
export type { RestartMode, SupervisedSpawnOptions } from "./restart-policy.js";
