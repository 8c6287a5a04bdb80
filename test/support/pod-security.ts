/**
 * The Kubernetes Pod Security Standards' "restricted" profile (policy version latest, as of
 * Kubernetes v1.34), as checks on a pod spec: https://kubernetes.io/docs/concepts/security/pod-security-standards/
 * Returns one line per violation ("<where>: <what>"), so a test can show exactly what breaks it.
 */

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  appArmorProfile?: { type?: string };
  sysctls?: { name: string }[];
  windowsOptions?: { hostProcess?: boolean };
}
interface Container { name: string; securityContext?: SecurityContext; ports?: { hostPort?: number }[] }
export interface PodSpecLike {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Record<string, unknown>[];
}

const ALLOWED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

export function restrictedViolations(spec: PodSpecLike): string[] {
  const out: string[] = [];
  const pod = spec.securityContext ?? {};
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  // Baseline
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push("pod: host namespaces");
  if (pod.windowsOptions?.hostProcess) out.push("pod: hostProcess");
  if (pod.appArmorProfile?.type && pod.appArmorProfile.type !== "RuntimeDefault" && pod.appArmorProfile.type !== "Localhost") out.push("pod: appArmorProfile");
  if (pod.seLinuxOptions && (!SELINUX_TYPES.has(pod.seLinuxOptions.type ?? "") || pod.seLinuxOptions.user || pod.seLinuxOptions.role)) out.push("pod: seLinuxOptions");
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) out.push(`pod: sysctl ${s.name}`);
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (!type || !ALLOWED_VOLUMES.has(type)) out.push(`volume ${String(v.name)}: ${type ?? "no source"} volumes are not allowed`);
  }
  // Restricted: seccomp and non-root may be set on the pod or on every container.
  const podSeccompOk = pod.seccompProfile?.type === "RuntimeDefault" || pod.seccompProfile?.type === "Localhost";
  if (pod.seccompProfile?.type === "Unconfined") out.push("pod: seccompProfile Unconfined");
  if (pod.runAsNonRoot === false) out.push("pod: runAsNonRoot false");
  if (pod.runAsUser === 0) out.push("pod: runAsUser 0");
  for (const c of containers) {
    const where = `container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.push(`${where}: privileged`);
    if (sc.windowsOptions?.hostProcess) out.push(`${where}: hostProcess`);
    if (sc.procMount && sc.procMount !== "Default") out.push(`${where}: procMount ${sc.procMount}`);
    if ((c.ports ?? []).some((p) => p.hostPort)) out.push(`${where}: hostPort`);
    if (sc.appArmorProfile?.type && sc.appArmorProfile.type !== "RuntimeDefault" && sc.appArmorProfile.type !== "Localhost") out.push(`${where}: appArmorProfile`);
    if (sc.seLinuxOptions && (!SELINUX_TYPES.has(sc.seLinuxOptions.type ?? "") || sc.seLinuxOptions.user || sc.seLinuxOptions.role)) out.push(`${where}: seLinuxOptions`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation must be false`);
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) out.push(`${where}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0) out.push(`${where}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type;
    if (seccomp === "Unconfined" || (!seccomp && !podSeccompOk)) out.push(`${where}: seccompProfile must be RuntimeDefault or Localhost`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`${where}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== "NET_BIND_SERVICE") out.push(`${where}: adds capability ${cap}`);
  }
  return out;
}
