// The one place the UI imports backend types from. Everything in ./bindings is generated from the Rust types
// (`UPDATE_BINDINGS=1 cargo test -p roundabout-app`); a test fails when it is stale.
export type { Config } from "./bindings/Config";
export type { ListenerConfig } from "./bindings/ListenerConfig";
export type { TargetConfig } from "./bindings/TargetConfig";
export type { MatchConfig } from "./bindings/MatchConfig";
export type { UpstreamConfig } from "./bindings/UpstreamConfig";
export type { Strategy } from "./bindings/Strategy";
export type { HealthConfig } from "./bindings/HealthConfig";
export type { PassiveHealthConfig } from "./bindings/PassiveHealthConfig";
export type { ActiveHealthConfig } from "./bindings/ActiveHealthConfig";
export type { HealthState } from "./bindings/HealthState";
export type { HealthEvent } from "./bindings/HealthEvent";
export type { ConfigIssue } from "./bindings/ConfigIssue";
export type { Status } from "./bindings/Status";
export type { ListenerStatus } from "./bindings/ListenerStatus";
export type { TargetStatus } from "./bindings/TargetStatus";
export type { UpstreamStatus } from "./bindings/UpstreamStatus";
export type { Event } from "./bindings/Event";
export type { RequestEvent } from "./bindings/RequestEvent";
export type { FailedAttempt } from "./bindings/FailedAttempt";
export type { ListenerEvent } from "./bindings/ListenerEvent";
export type { ListenerState } from "./bindings/ListenerState";
export type { AppState } from "./bindings/AppState";
export type { FileProblem } from "./bindings/FileProblem";
export type { ApiError } from "./bindings/ApiError";
export type { SaveResult } from "./bindings/SaveResult";
export type { Digest } from "./bindings/Digest";
