import { Type, type Static } from "@sinclair/typebox";
import {
  cel, Conditions, FreeFormObject, LocalObjectRef, ObservedGeneration, SecretKeyRef, StringEnum, StringMap,
} from "./common.js";

export const COMPUTE_TARGET_TYPES = [
  "Local", "AmlCompute", "RemoteVM", "HDInsight", "AzureBatch", "Databricks", "DataLakeAnalytics",
] as const;
export type ComputeTargetType = (typeof COMPUTE_TARGET_TYPES)[number];

/** The spec block that belongs to each type. */
export const TYPE_BLOCKS = {
  Local: "local",
  AmlCompute: "amlCompute",
  RemoteVM: "remoteVM",
  HDInsight: "hdInsight",
  AzureBatch: "azureBatch",
  Databricks: "databricks",
  DataLakeAnalytics: "dataLakeAnalytics",
} as const satisfies Record<ComputeTargetType, string>;

/** Types whose block may be omitted (all its fields have defaults). */
const BLOCK_OPTIONAL: readonly ComputeTargetType[] = ["Local"];

const blockRules = COMPUTE_TARGET_TYPES.flatMap((type) => {
  const block = TYPE_BLOCKS[type];
  const present = BLOCK_OPTIONAL.includes(type)
    ? []
    : [{ rule: `self.type != '${type}' || has(self.${block})`, message: `spec.${block} is required when type is ${type}` }];
  return [
    ...present,
    { rule: `!has(self.${block}) || self.type == '${type}'`, message: `spec.${block} is only allowed when type is ${type}` },
  ];
});

export const AzureWorkspaceRef = Type.Object({
  subscriptionId: Type.String({ minLength: 1, maxLength: 64, description: "Azure subscription id of the workspace." }),
  resourceGroup: Type.String({ minLength: 1, maxLength: 90, description: "Resource group of the Azure ML workspace." }),
  name: Type.String({ minLength: 1, maxLength: 260, description: "Azure ML workspace name." }),
}, { description: "The Azure ML workspace the compute belongs to (this namespace plays the workspace role in Kubernetes)." });

export const LocalTargetSpec = Type.Object({
  image: Type.String({
    default: "localhost/aml-training:py3", maxLength: 512,
    description: "Default container image for runs on this target when the RunConfiguration names none.",
  }),
  imagePullPolicy: StringEnum(["Always", "IfNotPresent", "Never"] as const, { default: "IfNotPresent", description: "Pull policy for run pods." }),
  serviceAccountName: Type.Optional(Type.String({ maxLength: 253, description: "ServiceAccount run pods use; must exist in the namespace. Default: the namespace's default account." })),
  nodeSelector: Type.Optional(StringMap({ description: "Node labels run pods must match." })),
  priorityClassName: Type.Optional(Type.String({ maxLength: 253, description: "PriorityClass of run pods." })),
  environmentCache: Type.Optional(Type.Object({
    claimName: Type.Optional(Type.String({ maxLength: 253, description: "A ReadWriteMany PersistentVolumeClaim in this namespace holding built environments (production)." })),
    hostPath: Type.Optional(Type.String({
      maxLength: 4096, pattern: "^(/[^/]+)+$",
      description: "A node directory holding built environments (single-node and development clusters). Accepted only under a prefix the operator's administrator allows (chart value localTargets.allowedHostPathPrefixes); otherwise the target is Ready=False HostPathNotAllowed.",
      ...cel({ rule: "!self.matches('(^|/)[.][.]?(/|$)')", message: "hostPath must be a normalized absolute path (no . or .. segments)" }),
    })),
  }, {
    description: "Where system-managed environments are built once per content hash and reused by later runs. Without it, runs on this target use user-managed environments only.",
    ...cel({ rule: "has(self.claimName) != has(self.hostPath)", message: "set exactly one of environmentCache.claimName and environmentCache.hostPath" }),
  })),
}, { description: "Runs execute as Kubernetes Jobs in this cluster." });

/**
 * Azure ML compute names. Two Microsoft documents state them differently, and the stricter of both
 * holds: MicrosoftDocs/azure-docs `articles/machine-learning/how-to-create-attach-compute-cluster.md`
 * @ 00766527bd628336b0aa71d410f0b54b263dfef9 (clusters: 3 to 24 letters, digits and "-", a letter
 * first, any "-" followed by a letter later in the name) and
 * `articles/azure-resource-manager/management/resource-name-rules.md`
 * @ 0d589b2126d6bf76b10cf7b057f2ab8194e6a2e8 (workspaces/computes: 3-32 for AML compute, 2-16 for
 * other compute types, i.e. attached ones). A letter after the last "-" is a letter after every "-".
 * RE2 syntax, as the API server's `pattern` requires.
 */
export const AZURE_COMPUTE_NAME = {
  pattern: "^[A-Za-z]([A-Za-z0-9-]*[A-Za-z])?[0-9]*$",
  minLength: 3,
  maxLength: { cluster: 24, attached: 16 },
} as const;

export const AmlComputeTargetSpec = Type.Object({
  workspace: AzureWorkspaceRef,
  computeName: Type.Optional(Type.String({
    minLength: AZURE_COMPUTE_NAME.minLength, maxLength: AZURE_COMPUTE_NAME.maxLength.cluster, pattern: AZURE_COMPUTE_NAME.pattern,
    description: "Name of the compute in the workspace: 3-24 letters, digits and -, a letter first and a letter after the last -. Default: the ComputeTarget's name when it follows these rules, else a name derived from it (the name, cut, plus - and six letters of its hash).",
  })),
  mode: StringEnum(["Provision", "Attach"] as const, {
    default: "Provision",
    description: "Provision creates the cluster (and never overwrites one that already exists unless adopt is true); Attach uses an existing compute as is.",
  }),
  adopt: Type.Boolean({ default: false, description: "With mode Provision: take over an existing compute of the same name and apply this spec to it." }),
  location: Type.Optional(Type.String({ maxLength: 64, description: "Azure region; default: the workspace's." })),
  vmSize: Type.Optional(Type.String({ maxLength: 64, description: "VM size, e.g. STANDARD_D2_V2 (required to provision)." })),
  vmPriority: StringEnum(["Dedicated", "LowPriority"] as const, { default: "Dedicated", description: "Dedicated or LowPriority (spot) nodes." }),
  minNodes: Type.Integer({ minimum: 0, maximum: 10000, default: 0, description: "Nodes kept when idle; 0 scales to zero." }),
  maxNodes: Type.Integer({ minimum: 1, maximum: 10000, default: 4, description: "Upper bound of autoscaling." }),
  idleSecondsBeforeScaleDown: Type.Integer({ minimum: 0, maximum: 31536000, default: 1800, description: "Idle time before nodes are released." }),
  subnetId: Type.Optional(Type.String({ maxLength: 1024, description: "ARM id of a subnet to put the nodes in." })),
}, {
  description: "An Azure ML managed cluster (AmlCompute) driven through Azure Resource Manager.",
  ...cel(
    { rule: "self.minNodes <= self.maxNodes", message: "minNodes must be less than or equal to maxNodes" },
    { rule: "self.mode != 'Provision' || has(self.vmSize)", message: "vmSize is required when mode is Provision" },
  ),
});

/** SSH connection settings shared by RemoteVM and the HDInsight head node. */
const sshFields = {
  address: Type.String({ minLength: 1, maxLength: 253, description: "Host name or IP address of the machine." }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 22, description: "SSH port." }),
  username: Type.String({ minLength: 1, maxLength: 64, description: "Login user." }),
  credentialsSecretRef: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 253, description: "Secret in this namespace with key `password`, or `privateKey` (+ optional `passphrase`)." }),
  }, { description: "Secret holding the login credentials. Passwords and keys are never written inline." }),
  hostKey: Type.Object({
    fingerprint: Type.Optional(Type.String({ pattern: "^SHA256:[A-Za-z0-9+/]{43}=?$", description: "The server's host key fingerprint as `ssh-keygen -lf` prints it (SHA256:...)." })),
    knownHostsSecretRef: Type.Optional(SecretKeyRef("A Secret holding known_hosts lines for the address.", "known_hosts")),
  }, {
    description: "The pinned host key. Connections to a host presenting another key are refused (HostKeyMismatch).",
    ...cel({ rule: "has(self.fingerprint) != has(self.knownHostsSecretRef)", message: "set exactly one of hostKey.fingerprint and hostKey.knownHostsSecretRef" }),
  }),
};

export const RemoteVmTargetSpec = Type.Object({
  ...sshFields,
  workDir: Type.String({ minLength: 1, maxLength: 1024, default: ".amlcompute", description: "Directory for snapshots, environments and runs; relative paths are under the user's home." }),
  maxConcurrentRuns: Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: "Runs beyond this number wait in Queued." }),
}, { description: "Any machine reachable over SSH (Azure ML's attached VM)." });

export const HdInsightTargetSpec = Type.Object({
  ...sshFields,
  resourceId: Type.Optional(Type.String({ maxLength: 1024, description: "ARM id of the HDInsight cluster (registered in the workspace when one is given)." })),
  workspace: Type.Optional(AzureWorkspaceRef),
  workDir: Type.String({ minLength: 1, maxLength: 1024, default: ".amlcompute", description: "Directory on the head node for snapshots and runs." }),
}, { description: "An HDInsight Spark cluster: runs go to the head node over SSH and start with spark-submit." });

export const AzureBatchTargetSpec = Type.Object({
  accountName: Type.String({ minLength: 3, maxLength: 24, description: "Batch account name." }),
  resourceGroup: Type.String({ minLength: 1, maxLength: 90, description: "Resource group of the Batch account." }),
  subscriptionId: Type.String({ minLength: 1, maxLength: 64, description: "Subscription of the Batch account." }),
  poolId: Type.Optional(Type.String({ maxLength: 64, description: "Existing pool for runs; default: an auto-pool per run." })),
  workspace: Type.Optional(AzureWorkspaceRef),
}, { description: "An Azure Batch account: runs become a Batch job with one task." });

export const DatabricksTargetSpec = Type.Object({
  workspaceUrl: Type.String({ pattern: "^https://", maxLength: 1024, description: "Workspace URL, e.g. https://adb-123.4.azuredatabricks.net." }),
  resourceId: Type.Optional(Type.String({ maxLength: 1024, description: "ARM id of the Databricks workspace." }),),
  authentication: StringEnum(["PersonalAccessToken", "EntraID"] as const, {
    default: "PersonalAccessToken",
    description: "PersonalAccessToken: the token in tokenSecretRef. EntraID: a Microsoft Entra token for the Azure Databricks resource from the target's Azure credentials (credentialsSecretRef, the namespace Secret aml-azure-credentials or a federated ServiceAccount, or the operator's identity where allowed); the identity must be a user or service principal of the workspace.",
  }),
  tokenSecretRef: Type.Optional(SecretKeyRef("Secret holding a Databricks personal access token (authentication PersonalAccessToken).", "token")),
  existingClusterId: Type.Optional(Type.String({ maxLength: 128, description: "Run on this cluster instead of a new job cluster." })),
}, {
  description: "An Azure Databricks workspace: runs use the Jobs API (runs/submit).",
  ...cel({ rule: "self.authentication != 'PersonalAccessToken' || has(self.tokenSecretRef)", message: "tokenSecretRef is required when authentication is PersonalAccessToken" }),
});

export const DataLakeAnalyticsTargetSpec = Type.Object({
  accountName: Type.String({ maxLength: 64, description: "Data Lake Analytics account name." }),
  resourceGroup: Type.Optional(Type.String({ maxLength: 90, description: "Resource group of the account." })),
}, { description: "Azure Data Lake Analytics. The service was retired on 2024-02-29: accepted so old manifests apply, reported as TargetRetired." });

export const ComputeTargetSpec = Type.Object({
  type: StringEnum(COMPUTE_TARGET_TYPES, {
    description: "Kind of compute. The block of the same name (local, amlCompute, remoteVM, hdInsight, azureBatch, databricks, dataLakeAnalytics) configures it.",
    ...cel({ rule: "self == oldSelf", message: "type is immutable" }),
  }),
  deletionPolicy: StringEnum(["Delete", "Detach"] as const, {
    default: "Delete",
    description: "On deletion of a target the operator provisioned: Delete the Azure resource, or Detach (leave it running, unmanaged). Attached targets are only ever detached.",
  }),
  credentialsSecretRef: Type.Optional(LocalObjectRef(
    "Azure credentials for this target only: a Secret with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or without the secret to federate a ServiceAccount of this namespace (AZURE_SERVICE_ACCOUNT_NAME, default aml-workload-identity). Overrides the namespace Secret `aml-azure-credentials` and the operator's Workload Identity.",
  )),
  local: Type.Optional(LocalTargetSpec),
  amlCompute: Type.Optional(AmlComputeTargetSpec),
  remoteVM: Type.Optional(RemoteVmTargetSpec),
  hdInsight: Type.Optional(HdInsightTargetSpec),
  azureBatch: Type.Optional(AzureBatchTargetSpec),
  databricks: Type.Optional(DatabricksTargetSpec),
  dataLakeAnalytics: Type.Optional(DataLakeAnalyticsTargetSpec),
}, { description: "Where training runs execute.", ...cel(...blockRules) });

export const ComputeTargetStatus = Type.Object({
  observedGeneration: Type.Optional(ObservedGeneration),
  conditions: Type.Optional(Conditions),
  provisioningState: Type.Optional(Type.String({ description: "Provisioning state as Azure reports it (Creating, Succeeded, Failed, Deleting...)." })),
  provisioningErrors: Type.Optional(Type.Array(Type.Object({
    code: Type.String({ description: "Azure error code." }),
    message: Type.String({ description: "Azure error message." }),
  }), { maxItems: 10, description: "Errors Azure reported while provisioning." })),
  resourceId: Type.Optional(Type.String({ description: "ARM id of the Azure resource." })),
  nodes: Type.Optional(Type.Object({
    current: Type.Optional(Type.Integer({ description: "Nodes allocated now." })),
    target: Type.Optional(Type.Integer({ description: "Nodes the cluster is scaling to." })),
    idle: Type.Optional(Type.Integer({ description: "Idle nodes." })),
    running: Type.Optional(Type.Integer({ description: "Nodes running jobs." })),
    preparing: Type.Optional(Type.Integer({ description: "Nodes being prepared." })),
  }, { description: "Node counts where the compute reports them." })),
  capabilities: Type.Optional(Type.Object({
    os: Type.Optional(Type.String({ description: "Operating system detected on the machine." })),
    pythonVersions: Type.Optional(Type.Array(Type.String(), { description: "Python interpreters found (version strings)." })),
    conda: Type.Optional(Type.String({ description: "conda version when conda is installed." })),
    docker: Type.Optional(Type.Boolean({ description: "A Docker engine answers on the machine." })),
    gpus: Type.Optional(Type.Integer({ description: "GPUs reported by nvidia-smi." })),
  }, { description: "What the operator detected on the target." })),
  runningRuns: Type.Optional(Type.Integer({ description: "Runs currently executing on this target." })),
  operation: Type.Optional(FreeFormObject({ description: "Resume handle of a long-running Azure operation (poller state); internal." })),
  lastProbeTime: Type.Optional(Type.String({ format: "date-time", description: "When the target was last checked." })),
}, { description: "Observed state of the target." });

export type ComputeTargetSpec = Static<typeof ComputeTargetSpec>;
export type ComputeTargetStatus = Static<typeof ComputeTargetStatus>;
export type LocalTargetSpec = Static<typeof LocalTargetSpec>;
export type AmlComputeTargetSpec = Static<typeof AmlComputeTargetSpec>;
export type RemoteVmTargetSpec = Static<typeof RemoteVmTargetSpec>;
export type HdInsightTargetSpec = Static<typeof HdInsightTargetSpec>;
export type AzureBatchTargetSpec = Static<typeof AzureBatchTargetSpec>;
export type DatabricksTargetSpec = Static<typeof DatabricksTargetSpec>;
export type AzureWorkspaceRef = Static<typeof AzureWorkspaceRef>;
