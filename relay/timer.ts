/** A sleep that can be cut short: the sink's retry wait and the spool reader's wait for data. */

export interface WakeableSleep {
  done: Promise<void>;
  /** Ends the sleep now (idempotent). */
  wake(): void;
}

export function wakeableSleep(ms: number): WakeableSleep {
  let wake = () => {};
  const done = new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(t);
      resolve();
    };
  });
  return { done, wake };
}
