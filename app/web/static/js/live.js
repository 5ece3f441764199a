// Live job status: one Server-Sent Events stream per watched job, reconnecting until it ends.

import { ApiError, streamEvents } from "./api.js";

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);

export const isTerminal = (status) => TERMINAL.has(status);

/**
 * Follow one job until it ends: onUpdate(job) for every status event, onGone() if it is
 * deleted. Resolves when the job has ended or `signal` aborts.
 */
export async function watchJob(id, { signal, onUpdate, onGone }) {
  let wait = 1000;
  while (!signal.aborted) {
    let last = null;
    let gone = false;
    try {
      await streamEvents(`jobs/${id}/events`, {
        signal,
        onEvent(name, data) {
          if (name === "status") {
            last = data;
            onUpdate(data);
          } else if (name === "gone") {
            gone = true;
          }
        },
      });
      if (gone) {
        if (onGone) onGone();
        return;
      }
      if (last && isTerminal(last.status)) return;
      wait = 1000;
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status === 404) {
        if (onGone) onGone();
        return;
      }
      if (error instanceof ApiError && error.status === 401) return;
      wait = Math.min(wait * 2, 15_000); // the server or network blinked: try again
    }
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, wait);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
