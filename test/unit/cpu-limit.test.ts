/** The cgroup CPU quota behind a pool's default size, read from the files Linux shows (real layouts, as fixtures). */
import { describe, expect, it } from 'vitest';
import { cgroupCpuLimit, cpuQuota } from '../../src/internal/cpu-limit.ts';

const mountinfoV1 = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
].join('\n');
const mountinfoV2 = '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

function files(entries: Record<string, string>): (path: string) => string | undefined {
  return (path) => entries[path];
}

describe('cgroupCpuLimit', () => {
  it('cgroup v1, a Docker container seeing only its own group (--cpus=2)', () => {
    const read = files({
      '/proc/self/cgroup': '12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n0::/\n',
      '/proc/self/mountinfo': mountinfoV1,
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '200000\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuLimit(read)).toBe(2);
  });

  it('cgroup v1 with the whole hierarchy mounted: the smallest quota of the group and its ancestors; -1 is none', () => {
    const read = files({
      '/proc/self/cgroup': '1:cpu:/app/inner\n0::/\n',
      '/proc/self/mountinfo': '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '/sys/fs/cgroup/cpu/app/inner/cpu.cfs_quota_us': '-1',
      '/sys/fs/cgroup/cpu/app/inner/cpu.cfs_period_us': '100000',
      '/sys/fs/cgroup/cpu/app/cpu.cfs_quota_us': '150000',
      '/sys/fs/cgroup/cpu/app/cpu.cfs_period_us': '100000',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
    });
    expect(cpuQuota(read)).toBe(1.5);
    expect(cgroupCpuLimit(read)).toBe(1); // whole CPUs, as Node 22.12+ counts them
  });

  it('cgroup v2 in a cgroup namespace (a container): cpu.max at the mount root', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': mountinfoV2, '/sys/fs/cgroup/cpu.max': '250000 100000\n' });
    expect(cgroupCpuLimit(read)).toBe(2);
  });

  it('cgroup v2, a Kubernetes pod: the pod limit above the container group counts, "max" is none', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      '/proc/self/mountinfo': mountinfoV2,
      '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '400000 100000',
      '/sys/fs/cgroup/kubepods/cpu.max': 'max 100000',
    });
    expect(cgroupCpuLimit(read)).toBe(4);
  });

  it('less than one CPU still runs one worker', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': mountinfoV2, '/sys/fs/cgroup/cpu.max': '50000 100000' });
    expect(cpuQuota(read)).toBe(0.5);
    expect(cgroupCpuLimit(read)).toBe(1);
  });

  it('no quota: no limit (undefined), also where v1 holds the cpu controller and v2 has a cpu.max of its own', () => {
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': mountinfoV2, '/sys/fs/cgroup/cpu.max': 'max 100000' }))).toBeUndefined();
    const hybrid = files({
      '/proc/self/cgroup': '1:cpu:/\n0::/\n',
      '/proc/self/mountinfo': '32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
      '/sys/fs/cgroup/unified/cpu.max': '100000 100000',
    });
    expect(cgroupCpuLimit(hybrid)).toBeUndefined();
  });

  it('a group outside the mounted root reads the mount root; a mount point with a space is unescaped', () => {
    const read = files({
      '/proc/self/cgroup': '0::/elsewhere/x\n',
      '/proc/self/mountinfo': '29 23 0:26 /mine /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw',
      '/sys/fs/my cgroup/cpu.max': '300000 100000',
    });
    expect(cgroupCpuLimit(read)).toBe(3);
  });

  it('nothing to read, or nonsense, is no limit and never throws', () => {
    expect(cgroupCpuLimit(files({}))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': 'garbage', '/proc/self/mountinfo': 'garbage' }))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': mountinfoV2, '/sys/fs/cgroup/cpu.max': '0 100000' }))).toBeUndefined();
    expect(cgroupCpuLimit(files({ '/proc/self/cgroup': '0::/\n', '/proc/self/mountinfo': mountinfoV2, '/sys/fs/cgroup/cpu.max': 'lots' }))).toBeUndefined();
  });
});
