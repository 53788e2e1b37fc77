/**
 * Tells the parent, once, that this worker started a process of its own (`child_process`'s
 * spawn, exec, execFile or fork): its process group may hold that process after the worker has
 * gone, and the parent then has the group ended even if it dies first (parent/group-sentinel.ts).
 * Node publishes every ChildProcess it makes on the diagnostics channel `child_process`, the
 * main thread's spawns only (a worker thread has channels of its own); the synchronous calls
 * (spawnSync, execSync) make none, and their process has ended when they return unless a shell
 * left one in the background (manual/guide.md says what is not covered).
 */
export function reportFirstSpawn(report: () => void): void {
  const channels = process.getBuiltinModule('node:diagnostics_channel');
  const onSpawn = (): void => {
    channels.unsubscribe('child_process', onSpawn);
    report();
  };
  channels.subscribe('child_process', onSpawn);
}
