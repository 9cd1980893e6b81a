import type { ConfigIssue } from "../types";

/** True when `issuePath` is at `fieldPath` or inside it (`targets[0].match` holds `targets[0].match.host`). */
export function within(issuePath: string, fieldPath: string): boolean {
  return (
    issuePath === fieldPath || issuePath.startsWith(fieldPath + ".") || issuePath.startsWith(fieldPath + "[")
  );
}

export function issuesAt(issues: ConfigIssue[], fieldPath: string): ConfigIssue[] {
  return issues.filter((i) => within(i.path, fieldPath));
}

/** The issues no field in `fields` claims, so they can be listed instead of lost. */
export function unclaimed(issues: ConfigIssue[], fields: string[]): ConfigIssue[] {
  return issues.filter((i) => !fields.some((f) => within(i.path, f)));
}
