// The fault suite's README table (scenario | outcome | objects left), written to SUMMARY.md from the results of
// the run. It is written only when every fault test file ran in full, so a single file or --grep leaves it alone.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Context, Suite, Test } from "mocha";

interface Row {
  file: string;
  scenario: string;
  /** What the user sees, as the scenario promised it; or the failure. */
  outcome: string;
  objectsLeft: number | undefined;
}

const declared: string[] = [];
/** The table's order: the issue's order of concerns, by test file. */
const FILE_ORDER = [
  "api",
  "failures",
  "timeouts",
  "adoption",
  "access",
  "rbac",
  "badInput",
  "secrets",
  "cancellation",
];
const rows = new Map<string, Row>();
const extraSections: (() => string)[] = [];

export const SUMMARY_FILE = path.join(__dirname, "SUMMARY.md");

/**
 * One row of the table, as a mocha test: `run` plays the scenario and ends with the cluster compared to the
 * state and `pulumi destroy`, resolving with the number of objects left. `outcome` is what the row says when it passes.
 */
export function scenario(title: string, outcome: string, run: (this: Context) => Promise<number>): Test {
  declared.push(title);
  return it(title, async function () {
    const file = path.basename(this.test?.file ?? "", ".test.ts");
    try {
      const objectsLeft = await run.call(this);
      rows.set(title, { file, scenario: title, outcome: `passes: ${outcome}`, objectsLeft });
    } catch (e) {
      const message = String((e as Error)?.message ?? e).replace(/\s+/g, " ");
      const shown = message.length > 300 ? `${message.slice(0, 300)}...` : message;
      rows.set(title, { file, scenario: title, outcome: `FAILS: ${shown}`, objectsLeft: undefined });
      throw e;
    }
  });
}

/** Markdown appended after the table (e.g. the least-privilege Roles the suite derived). */
export function addSection(render: () => string): void {
  extraSections.push(render);
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function renderSummary(): string {
  const order = (r: Row) => FILE_ORDER.indexOf(r.file) >>> 0; // files not listed go last
  const table = declared.map((title) => rows.get(title)!).sort((a, b) => order(a) - order(b));
  const failing = table.filter((r) => r.objectsLeft === undefined).length;
  const left = table.reduce((n, r) => n + (r.objectsLeft ?? 0), 0);
  const counted = failing ? ` (not counted for the ${failing} failing)` : "";
  return [
    "<!-- Written by the fault suite (test/faults, `npm test`); do not edit by hand. -->",
    "",
    `${table.length} fault scenarios, ${failing ? `${failing} failing` : "all passing"}; ` +
      `${left} objects left behind${counted}. Each scenario ends by comparing the cluster with the Pulumi ` +
      "state (no orphans, nothing lost) and running `pulumi destroy`.",
    "",
    "| scenario | outcome | objects left |",
    "|---|---|---|",
    ...table.map((r) => `| ${cell(r.scenario)} | ${cell(r.outcome)} | ${r.objectsLeft ?? "?"} |`),
    "",
    ...extraSections.map((render) => render()),
  ].join("\n");
}

function testsOf(suite: Suite): Test[] {
  return [...suite.tests, ...suite.suites.flatMap(testsOf)];
}

/** Whether this run loaded every fault test file and ran every scenario they declare. */
function ranInFull(root: Suite): boolean {
  const loaded = new Set(testsOf(root).map((t) => t.file));
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => path.join(__dirname, f));
  return files.every((f) => loaded.has(f)) && declared.every((title) => rows.has(title));
}

after(function () {
  let root: Suite = this.test!.parent!;
  while (root.parent) root = root.parent;
  if (!ranInFull(root)) return;
  const text = renderSummary();
  const old = fs.existsSync(SUMMARY_FILE) ? fs.readFileSync(SUMMARY_FILE, "utf8") : "";
  if (old !== text) fs.writeFileSync(SUMMARY_FILE, text);
});
