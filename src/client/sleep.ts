// A promise timer. Producers pass ref=false so a pending retry pause never keeps a process alive
// on its own; consumer loops keep the default so a consumer keeps running.
export function sleep(ms: number, ref = true): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, Math.max(0, ms));
    if (!ref) t.unref();
  });
}
