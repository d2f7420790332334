/** `single` (SEC Single): every matching event raises. Stateless: no group state is ever stored. */
import { firingVars, groupObject, groupValues } from "../project.ts";
import type { Engine } from "../types.ts";

export const single: Engine<never> = {
  step(rule, _state, ev) {
    return {
      state: undefined,
      firings: [{ action: "raise", group: groupObject(rule, groupValues(rule, ev)), count: 1, eventIds: [ev.id], at: ev.ts, vars: firingVars(rule, ev, { count: 1, first: ev.ts, last: ev.ts }) }],
    };
  },
};
