import { describe, expect, it } from 'vitest';
import { StallDetector } from '../../../src/child/watchdog/stall-detector.ts';

describe('StallDetector', () => {
  it('stays quiet while the heartbeat is fresher than the threshold', () => {
    const detector = new StallDetector(500);
    expect(detector.observe(1000, 1100)).toBeUndefined();
    expect(detector.observe(1400, 1899)).toBeUndefined();
  });

  it('reports an episode once, with how long the loop has been silent', () => {
    const detector = new StallDetector(500);
    expect(detector.observe(1000, 1600)).toBe(600);
    expect(detector.observe(1000, 1700)).toBeUndefined();
    expect(detector.observe(1000, 9000)).toBeUndefined();
  });

  it('reports the next episode after the loop beat again', () => {
    const detector = new StallDetector(500);
    expect(detector.observe(1000, 1500)).toBe(500);
    expect(detector.observe(2000, 2100)).toBeUndefined(); // the loop ran: the episode ended
    expect(detector.observe(2000, 2700)).toBe(700);
  });

  it('treats a single late beat after a report as the start of a new episode', () => {
    const detector = new StallDetector(100);
    expect(detector.observe(0, 150)).toBe(150);
    expect(detector.observe(160, 400)).toBe(240); // beat once at 160, then blocked again
  });
});
