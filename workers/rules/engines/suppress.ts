/**
 * `suppress`: events matching a suppress rule are kept out of alerting (they are still stored). The
 * host checks suppress rules first and does not hand those events to any other rule; this engine
 * exists so that every rule type has one, and it neither keeps state nor fires.
 */
import type { Engine } from "../types.ts";

export const suppress: Engine<never> = {
  step() {
    return { state: undefined, firings: [] };
  },
};
