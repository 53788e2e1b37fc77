/**
 * The CPUs this process may use by its cgroup's CPU quota (a container's `--cpus`, Kubernetes'
 * `limits.cpu`, systemd's `CPUQuota=`), for a pool's default size. Node 20's
 * `os.availableParallelism()` reads only the CPU affinity mask, so in a container limited to 2
 * CPUs on a 64-CPU host it answers 64 (Node 22.12 and later read the quota too). Linux only;
 * cgroup v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) and v2 (`cpu.max`), the quota of every
 * ancestor group counting as well (the smallest wins), as the kernel enforces them.
 */

/** Reads a file's text, or undefined when it cannot (missing, not readable). */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return process.getBuiltinModule('node:fs').readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
};

/**
 * Whole CPUs the quota allows (at least 1: 0.5 CPU still runs a worker), or undefined when no
 * quota applies or none can be read (not Linux, no cgroup file system mounted).
 */
export function cgroupCpuLimit(read: ReadText = readText): number | undefined {
  const quota = cpuQuota(read);
  return quota === undefined ? undefined : Math.max(1, Math.floor(quota));
}

/** The quota in CPUs (quota / period, the smallest along the group's ancestors), or undefined. */
export function cpuQuota(read: ReadText): number | undefined {
  const groups = read('/proc/self/cgroup');
  const mounts = read('/proc/self/mountinfo');
  if (groups === undefined || mounts === undefined) return undefined;
  const group = ownGroup(groups);
  if (group === undefined) return undefined;
  const mount = cgroupMount(mounts, group.v2);
  if (mount === undefined) return undefined;
  let smallest: number | undefined;
  for (let dir = groupDir(mount, group.path); ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
    const cpus = group.v2 ? quotaV2(read(`${dir}/cpu.max`)) : quotaV1(read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`));
    if (cpus !== undefined && (smallest === undefined || cpus < smallest)) smallest = cpus;
    if (dir.length <= mount.point.length) break;
  }
  return smallest;
}

/**
 * The group's directory under the mount. A group outside the mount's root (a container that sees
 * only its own subtree, without a cgroup namespace) is the mount's root itself.
 */
function groupDir(mount: { root: string; point: string }, path: string): string {
  if (mount.root === '/') return trimSlash(`${mount.point}${path}`);
  if (path.startsWith(`${mount.root}/`)) return `${mount.point}${path.slice(mount.root.length)}`;
  return mount.point;
}

/** This process's group in the hierarchy that has the cpu controller: v1's `cpu`, else v2's. */
function ownGroup(text: string): { path: string; v2: boolean } | undefined {
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') v2 = path;
    else if (controllers.split(',').includes('cpu')) return { path, v2: false };
  }
  return v2 === undefined ? undefined : { path: v2, v2: true };
}

/** Where that hierarchy is mounted (`/proc/self/mountinfo`: the mount's root in the hierarchy, and its mount point). */
function cgroupMount(text: string, v2: boolean): { root: string; point: string } | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0) continue;
    const type = fields[dash + 1];
    const options = (fields[dash + 3] ?? '').split(',');
    const root = fields[3];
    const point = fields[4];
    if (root === undefined || point === undefined) continue;
    if (v2 ? type === 'cgroup2' : type === 'cgroup' && options.includes('cpu')) return { root: unescape(root), point: trimSlash(unescape(point)) };
  }
  return undefined;
}

/** `cpu.max`: "max 100000" (no quota) or "150000 100000". */
function quotaV2(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  return ratio(quota, period);
}

/** `cpu.cfs_quota_us` (-1: no quota) over `cpu.cfs_period_us`. */
function quotaV1(quota: string | undefined, period: string | undefined): number | undefined {
  return ratio(quota?.trim(), period?.trim());
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  return quota && period && Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0 ? q / p : undefined;
}

/** mountinfo writes a space, tab, newline or backslash in a path as an octal escape. */
function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
