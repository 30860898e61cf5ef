// Per-object behaviour knobs: annotations a test (or the demo) puts on an object to steer the simulators.
import type { KubeObject } from "../emulator/store";

const prefix = "simulator.vm-snapshots.test/";

/** The knob annotation names. */
export const KnobAnnotation = {
  /** Milliseconds before each phase transition of this object; overrides the controller default. */
  PhaseDelayMs: `${prefix}phase-delay-ms`,
  /** `"<Reason>: <message>"` or a message: the object fails with it at its next step. */
  Fail: `${prefix}fail`,
  /** A phase name: the object stays in that phase forever. */
  Hang: `${prefix}hang`,
  /** `"true"`: the controller keeps its finalizer until the annotation is removed. */
  HoldDeletion: `${prefix}hold-deletion`,
  /** On a VirtualMachine, `"false"`: the VM has no guest agent. */
  GuestAgent: `${prefix}guest-agent`,
  /** On a VirtualDisk, `"true"`: the disk is being resized. */
  Resizing: `${prefix}resizing`,
} as const;

export interface ForcedFailure {
  reason?: string;
  message: string;
}

export interface Knobs {
  phaseDelayMs?: number;
  fail?: ForcedFailure;
  hang?: string;
  holdDeletion: boolean;
  guestAgent: boolean;
  resizing: boolean;
}

/** A controller's default delay per transition: a fixed number of ms, or random within a range. */
export type PhaseDelay = number | { min: number; max: number };

const forcedFailure = (value: string): ForcedFailure => {
  const m = /^([A-Z][A-Za-z0-9]*): (.+)$/s.exec(value);
  return m ? { reason: m[1], message: m[2] } : { message: value };
};

/** Reads the knobs of an object; a malformed knob is an error naming the object and the annotation. */
export function knobsOf(obj: KubeObject): Knobs {
  const a = obj.metadata.annotations ?? {};
  const knobs: Knobs = {
    holdDeletion: a[KnobAnnotation.HoldDeletion] === "true",
    guestAgent: a[KnobAnnotation.GuestAgent] !== "false",
    resizing: a[KnobAnnotation.Resizing] === "true",
  };
  const delay = a[KnobAnnotation.PhaseDelayMs];
  if (delay !== undefined) {
    const ms = Number(delay);
    if (!Number.isFinite(ms) || ms < 0) {
      throw new Error(
        `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}: annotation ${KnobAnnotation.PhaseDelayMs}: ` +
          `${JSON.stringify(delay)} is not a non-negative number of milliseconds`,
      );
    }
    knobs.phaseDelayMs = ms;
  }
  if (a[KnobAnnotation.Fail]) knobs.fail = forcedFailure(a[KnobAnnotation.Fail]);
  if (a[KnobAnnotation.Hang]) knobs.hang = a[KnobAnnotation.Hang];
  return knobs;
}

/** The delay before this object's next transition: its own knob, else the controller default. */
export function phaseDelayOf(obj: KubeObject, fallback: PhaseDelay = 0): number {
  const own = knobsOf(obj).phaseDelayMs;
  if (own !== undefined) return own;
  if (typeof fallback === "number") return fallback;
  return fallback.min + Math.random() * (fallback.max - fallback.min);
}
