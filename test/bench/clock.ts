// Milliseconds on a clock the bench's processes share (the emulator's, the engine stand-in's, the poller's):
// each process's monotonic clock from its own origin on the wall clock, so times taken in two processes compare.
export const sharedClock = () => performance.timeOrigin + performance.now();
