import { Type, type Static } from "@sinclair/typebox";
import { cel, Conditions, ObservedGeneration, StringEnum, StringMap } from "./common.js";
import { TrainingRunSpec } from "./training-run.js";

/** Azure ML's parameter expressions (HyperDrive / sweep jobs), with their names. */
export const PARAMETER_TYPES = ["choice", "uniform", "loguniform", "quniform", "qloguniform", "normal", "lognormal"] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export const MAX_SWEEP_TRIALS = 500;

const num = (description: string) => Type.Optional(Type.Number({ description }));
/** A number > 0 (OpenAPI v3.0 spells it minimum + boolean exclusiveMinimum). */
const positive = (description: string) => Type.Optional(Type.Unsafe<number>({ type: "number", minimum: 0, exclusiveMinimum: true, description }));

export const SweepParameter = Type.Object({
  name: Type.String({
    minLength: 1, maxLength: 63, pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
    description: "Parameter name; the script gets `--<name> <value>` (or the environment variable <NAME>, upper-cased).",
  }),
  type: StringEnum(PARAMETER_TYPES, {
    description: "choice(values); uniform(min,max); loguniform(min,max): exp(uniform(min,max)); quniform(min,max,q): round(uniform/q)*q; qloguniform(min,max,q); normal(mu,sigma); lognormal(mu,sigma): exp(normal).",
  }),
  values: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), {
    minItems: 1, maxItems: 100, description: "choice: the values, as strings (quote numbers in YAML).",
  })),
  min: num("uniform, quniform: lower bound; loguniform, qloguniform: lower bound of the exponent (natural log)."),
  max: num("uniform, quniform: upper bound; loguniform, qloguniform: upper bound of the exponent."),
  q: positive("quniform, qloguniform: the step values are rounded to."),
  mu: num("normal, lognormal: mean (of the logarithm for lognormal)."),
  sigma: positive("normal, lognormal: standard deviation."),
}, {
  description: "One hyperparameter and the distribution it is drawn from.",
  ...cel(
    { rule: "self.type != 'choice' || (has(self.values) && self.values.size() > 0)", message: "choice needs values" },
    { rule: "!(self.type in ['uniform', 'loguniform', 'quniform', 'qloguniform']) || (has(self.min) && has(self.max) && self.min < self.max)", message: "uniform-type parameters need min < max" },
    { rule: "!(self.type in ['quniform', 'qloguniform']) || has(self.q)", message: "quniform and qloguniform need q" },
    { rule: "!(self.type in ['normal', 'lognormal']) || (has(self.mu) && has(self.sigma))", message: "normal and lognormal need mu and sigma" },
    { rule: "self.type == 'choice' || !has(self.values)", message: "values are for choice parameters only" },
  ),
});

export const PrimaryMetric = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255, description: "Metric the trials report (mlflow.log_metric or an AML_METRIC line)." }),
  goal: StringEnum(["Maximize", "Minimize"] as const, { description: "Whether larger or smaller is better." }),
}, { description: "The metric that ranks trials." });

export const EarlyTermination = Type.Object({
  policy: StringEnum(["Bandit", "MedianStopping", "TruncationSelection"] as const, {
    description: "Bandit: stop a trial whose metric falls outside the slack of the best trial at the same interval. MedianStopping: stop a trial whose best metric is worse than the median of the running averages of all trials. TruncationSelection: stop the lowest truncationPercentage of trials at each interval.",
  }),
  evaluationInterval: Type.Integer({ minimum: 1, default: 1, description: "Apply the policy every this many reports of the primary metric." }),
  delayEvaluation: Type.Integer({ minimum: 0, default: 0, description: "Do not apply the policy before this many reports." }),
  slackFactor: positive("Bandit: allowed ratio to the best, e.g. 0.1 (10%)."),
  slackAmount: positive("Bandit: allowed absolute distance to the best."),
  truncationPercentage: Type.Optional(Type.Integer({ minimum: 1, maximum: 99, description: "TruncationSelection: percentage of trials stopped at each interval." })),
}, {
  description: "Stop poorly performing trials early (Azure ML's early termination policies).",
  ...cel(
    { rule: "self.policy != 'Bandit' || (has(self.slackFactor) != has(self.slackAmount))", message: "Bandit needs exactly one of slackFactor, slackAmount" },
    { rule: "self.policy != 'TruncationSelection' || has(self.truncationPercentage)", message: "TruncationSelection needs truncationPercentage" },
  ),
});

/** A TrainingRun spec as a trial template: cancel/suspend belong to the Sweep, the metric to its objective. */
const { cancel: _cancel, suspend: _suspend, primaryMetric: _primary, ...templateFields } = TrainingRunSpec.properties;
const runRules = (TrainingRunSpec as unknown as { "x-kubernetes-validations": { rule: string; message: string }[] })["x-kubernetes-validations"];
export const TrialTemplate = Type.Object(templateFields, {
  description: "The TrainingRun each trial runs, with the trial's parameters added as arguments or environment variables.",
  // The run's own rules, minus its transition rules (a template is not a submitted run).
  ...cel(...runRules.filter((r) => !r.rule.includes("oldSelf"))),
});

export const SweepSpec = Type.Object({
  trialTemplate: TrialTemplate,
  parameters: Type.Array(SweepParameter, {
    minItems: 1, maxItems: 32,
    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
    description: "The search space: one entry per hyperparameter.",
  }),
  parameterPassing: StringEnum(["Arguments", "Environment"] as const, {
    default: "Arguments", description: "Arguments: `--<name> <value>` after the template's arguments. Environment: variable <NAME> (upper-cased).",
  }),
  samplingAlgorithm: StringEnum(["Grid", "Random", "Bayesian"] as const, {
    description: "Grid: every combination of choice values. Random: independent draws. Bayesian: Optuna's sampler in the operator's suggestion process.",
  }),
  bayesianSampler: StringEnum(["TPE", "GP"] as const, {
    default: "TPE", description: "Optuna sampler for Bayesian: TPE (tree-structured Parzen estimator) or GP (Gaussian process; needs torch and scipy in the suggestion environment).",
  }),
  randomSeed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: "Seed for Random and Bayesian sampling; default: derived from the Sweep's UID." })),
  primaryMetric: PrimaryMetric,
  maxTrials: Type.Integer({ minimum: 1, maximum: MAX_SWEEP_TRIALS, description: "Trials to run at most (Grid: must cover the whole grid)." }),
  maxConcurrentTrials: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: "Trials active at once." }),
  maxDurationSeconds: Type.Optional(Type.Integer({ minimum: 1, description: "Wall-clock limit of the sweep; then active trials are canceled and the sweep ends with MaxDurationReached." })),
  earlyTermination: Type.Optional(EarlyTermination),
  cancel: Type.Boolean({ default: false, description: "Set to true to cancel the sweep and its active trials." }),
  suspend: Type.Boolean({ default: false, description: "While true no new trial starts; active trials run to their end." }),
}, {
  description: "A hyperparameter sweep: trials are TrainingRuns on any compute target (Azure ML's sweep job / HyperDrive).",
  ...cel(
    { rule: "self.samplingAlgorithm != 'Grid' || self.parameters.all(p, p.type == 'choice')", message: "Grid sampling takes choice parameters only" },
    { rule: "self.samplingAlgorithm != 'Bayesian' || self.parameters.all(p, p.type in ['choice', 'uniform', 'loguniform', 'quniform', 'qloguniform'])", message: "Bayesian sampling takes choice, uniform, loguniform, quniform and qloguniform parameters" },
    { rule: "!has(self.earlyTermination) || self.samplingAlgorithm != 'Bayesian'", message: "early termination is not used with Bayesian sampling (as in Azure ML): the optimizer learns from completed trials" },
    { rule: "!oldSelf.cancel || self.cancel", message: "a canceled sweep cannot be un-canceled" },
    { rule: "self.parameters == oldSelf.parameters && self.samplingAlgorithm == oldSelf.samplingAlgorithm && self.primaryMetric == oldSelf.primaryMetric", message: "parameters, samplingAlgorithm and primaryMetric are immutable (trials already ran with them); create a new Sweep" },
  ),
});

export const SWEEP_PHASES = ["Pending", "Running", "Suspended", "Completed", "Failed", "Canceled"] as const;
export type SweepPhase = (typeof SWEEP_PHASES)[number];

export const TRIAL_PHASES = ["Pending", "Running", "Completed", "Failed", "Canceled", "EarlyTerminated"] as const;
export type TrialPhase = (typeof TRIAL_PHASES)[number];

export const TrialStatus = Type.Object({
  name: Type.String({ description: "TrainingRun of the trial (<sweep>-<index>)." }),
  index: Type.Integer({ minimum: 0, description: "Trial number, from 0." }),
  parameters: StringMap({ description: "The trial's parameter values." }),
  phase: StringEnum(TRIAL_PHASES, { description: "Pending, Running, Completed, Failed, Canceled or EarlyTerminated." }),
  metric: Type.Optional(Type.Number({ description: "Latest value of the primary metric." })),
  reports: Type.Optional(Type.Integer({ minimum: 0, description: "Reports of the primary metric seen." })),
  evaluations: Type.Optional(Type.Array(Type.Number(), { maxItems: 100, description: "Primary metric at each evaluation interval (early termination compares these)." })),
  message: Type.Optional(Type.String({ maxLength: 512, description: "Why the trial ended as it did, e.g. stopped by Bandit, or ended without reporting the primary metric." })),
}, { description: "One trial." });

export const SweepStatus = Type.Object({
  observedGeneration: Type.Optional(ObservedGeneration),
  conditions: Type.Optional(Conditions),
  phase: Type.Optional(StringEnum(SWEEP_PHASES, { description: "Display-only summary; conditions are the API." })),
  startTime: Type.Optional(Type.String({ format: "date-time", description: "When the first trial was created." })),
  completionTime: Type.Optional(Type.String({ format: "date-time", description: "When the sweep ended." })),
  trialCounts: Type.Optional(Type.Object({
    total: Type.Integer({ minimum: 0, description: "Trials created." }),
    pending: Type.Integer({ minimum: 0, description: "Not running yet." }),
    running: Type.Integer({ minimum: 0, description: "Running." }),
    completed: Type.Integer({ minimum: 0, description: "Completed." }),
    failed: Type.Integer({ minimum: 0, description: "Failed." }),
    canceled: Type.Integer({ minimum: 0, description: "Canceled (by the sweep's cancel or duration limit, or by hand)." }),
    earlyTerminated: Type.Integer({ minimum: 0, description: "Stopped by the early termination policy." }),
  }, { description: "Trials by phase." })),
  bestTrial: Type.Optional(Type.Object({
    name: Type.String({ description: "TrainingRun of the best completed trial." }),
    parameters: StringMap({ description: "Its parameter values." }),
    metric: Type.Number({ description: "Its primary metric." }),
  }, { description: "The best completed trial so far." })),
  trials: Type.Optional(Type.Array(TrialStatus, { maxItems: MAX_SWEEP_TRIALS, description: "Every trial, by index." })),
}, { description: "Observed state of the sweep." });

export type SweepParameter = Static<typeof SweepParameter>;
export type EarlyTermination = Static<typeof EarlyTermination>;
export type SweepSpec = Static<typeof SweepSpec>;
export type SweepStatus = Static<typeof SweepStatus>;
export type TrialStatus = Static<typeof TrialStatus>;
