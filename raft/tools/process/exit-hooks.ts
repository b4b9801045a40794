// Kills the processes a harness started when the harness goes away for any reason it can see:
// normal exit, an uncaught exception (Node still emits 'exit'), or SIGINT/SIGTERM/SIGHUP. The
// hooks are synchronous (process.kill), because nothing asynchronous runs during 'exit'. After a
// signal they re-raise it when nobody else listens, so the harness still dies as it was told to.

type KillSync = () => void;

const hooks = new Set<KillSync>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

function runAll(): void {
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // One failing hook must not keep the others from killing their processes.
    }
  }
}

function onExit(): void {
  runAll();
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Registers a synchronous kill-everything hook; returns its unregister function. */
export function registerExitHook(killSync: KillSync): () => void {
  hooks.add(killSync);
  install();
  return () => {
    hooks.delete(killSync);
    if (hooks.size === 0) uninstall();
  };
}
