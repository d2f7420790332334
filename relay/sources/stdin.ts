/**
 * Newline-separated messages from standard input (`tail -f x | porchlight-relay --stdin`). Reading
 * pauses while the spool is full. `done` resolves at end of input, once every line is spooled.
 */
import { NewlineDecoder, type Frame } from "../framing/newline.ts";
import { appendFrames, countReceived, initCounters, type Source, type SourceContext } from "./source.ts";

export function readStdin(ctx: SourceContext, input: NodeJS.ReadableStream = process.stdin): Source & { done: Promise<void> } {
  initCounters(ctx.metrics, "stdin");
  const dec = new NewlineDecoder(ctx.maxMessageBytes);
  let chain = Promise.resolve();
  const take = (frames: Frame[]): Promise<void> => {
    countReceived(ctx, "stdin", frames);
    let left = appendFrames(ctx, "stdin", frames, null);
    if (left.length === 0) return Promise.resolve();
    input.pause();
    return (async () => {
      while (left.length) {
        await ctx.spool.whenSpace();
        left = appendFrames(ctx, "stdin", left, null);
      }
      input.resume();
    })();
  };
  const done = new Promise<void>((resolve) => {
    input.on("data", (chunk: Buffer | string) => {
      const frames: Frame[] = [];
      dec.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk, frames);
      chain = chain.then(() => take(frames));
    });
    input.on("end", () => {
      const frames: Frame[] = [];
      dec.end(frames);
      chain = chain.then(() => take(frames)).then(resolve);
    });
  });
  return {
    done,
    stop: async () => {
      input.pause();
    },
  };
}
