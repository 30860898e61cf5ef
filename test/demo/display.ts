// Prints a stack's steps and the provider's progress lines the way `pulumi up` and `pulumi destroy` show them
// in a terminal without interactive mode, and the summary they end with.
import type { Step, StepOp } from "../examples/stack";

const WORDS: Record<StepOp, { symbol: string; running: string; done: string }> = {
  create: { symbol: "+", running: "creating", done: "created" },
  update: { symbol: "~", running: "updating", done: "updated" },
  replace: { symbol: "+-", running: "replacing", done: "replaced" },
  same: { symbol: " ", running: "", done: "unchanged" },
  delete: { symbol: "-", running: "deleting", done: "deleted" },
};

/** "pulumi-nodejs:dynamic/vm-snapshots/deckhouse:VirtualMachineSnapshot" reads "deckhouse:VirtualMachineSnapshot". */
export const shortType = (type: string) =>
  type.replace(/^pulumi-nodejs:dynamic\/(?:[^:]*\/)?([^/:]+):/, "$1:");

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export class PulumiDisplay {
  private readonly done = new Map<StepOp, number>();
  private started = 0;

  constructor(private readonly write: (line: string) => void) {}

  /** "Updating (demo):" or "Destroying (demo):". */
  begin(operation: "Updating" | "Destroying", stack: string): void {
    this.done.clear();
    this.started = performance.now();
    this.write(`${operation} (${stack}):`);
  }

  step(step: Step): void {
    const words = WORDS[step.op];
    const what = ` ${words.symbol.padEnd(2)} ${shortType(step.type)} ${step.name}`;
    // An existing resource's step is known only when it ends (it may turn out unchanged).
    if (step.ms === undefined) {
      if (step.op === "create" || step.op === "delete") this.write(`${what} ${words.running}`);
    } else if (step.error) {
      this.write(`${what} **failed** (${seconds(step.ms)}): ${step.error}`);
    } else {
      this.done.set(step.op, (this.done.get(step.op) ?? 0) + 1);
      if (step.op !== "same") this.write(`${what} ${words.done} (${seconds(step.ms)})`);
    }
  }

  /** A line the provider printed: the engine shows it as a diagnostic of the stack. */
  providerLine(line: string): void {
    this.write(`    ${line}`);
  }

  end(): void {
    this.write("");
    this.write("Resources:");
    for (const [op, count] of this.done) this.write(`    ${WORDS[op].symbol} ${count} ${WORDS[op].done}`);
    this.write("");
    this.write(`Duration: ${seconds(performance.now() - this.started)}`);
    this.write("");
  }
}
