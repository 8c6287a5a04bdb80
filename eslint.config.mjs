import tseslint from "typescript-eslint";

// Layers, lowest first; a layer imports only from layers below it (docs/architecture.md):
//   src/runtime/{errors,clock,rate-limiter}.ts, src/observability   leaf modules every layer may use
//   src/kube        the API server: client, informers, transport
//   src/api         the CRD types and reasons (types from src/kube only)
//   src/runtime     controller machinery: queues, manager, leader election
//   src/snapshot, src/data-plane                 run sources and outputs
//   src/providers/shared, src/providers/ssh      code several providers share (ssh: the SSH layer)
//   src/providers/<type>                         one provider per target type; never another one
//   src/providers/registry.ts                    lists every provider
//   src/controllers  reconcilers; talk to providers only through src/providers/types.ts
//   src/main.ts, src/config.ts, src/cli          composition and tools
const kubeOnly = { name: "@kubernetes/client-node", message: "Only src/kube/** talks to the API server library." };
const sshOnly = { group: ["ssh2"], message: "Only src/providers/ssh/** imports ssh2." };
const PROVIDER_DIRS = "azureml|batch|databricks|hdinsight|local";
const rule = (paths, patterns) => ({ "no-restricted-imports": ["error", { paths, patterns }] });

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "deploy/**", "coverage/**", ".cluster/**"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "max-depth": ["error", 3],
      "max-params": ["error", 4],
    },
  },
  {
    // it.each tables pass one argument per column.
    files: ["**/*.test.ts"],
    rules: { "max-params": "off" },
  },
  // The seams stay honest: only src/kube talks to the API server library, only src/providers/ssh
  // speaks SSH.
  {
    files: ["src/**/*.ts"],
    ignores: ["src/kube/**", "src/main.ts", "src/providers/**", "src/runtime/**", "src/controllers/**"],
    rules: rule([kubeOnly], [sshOnly]),
  },
  {
    files: ["src/kube/**/*.ts"],
    rules: rule([], [sshOnly, {
      regex: "^\\.\\./(?!runtime/(errors|clock|rate-limiter)\\.js$|observability/)",
      message: "src/kube is the bottom layer: outside itself it may import only the leaf modules runtime/errors.js, runtime/clock.js, runtime/rate-limiter.js and src/observability.",
    }]),
  },
  {
    files: ["src/runtime/**/*.ts"],
    rules: rule([kubeOnly], [sshOnly, {
      regex: "^\\.\\./(api|providers|controllers|snapshot|data-plane|cli)/",
      message: "src/runtime is generic controller machinery: it knows nothing of the API, providers or controllers.",
    }]),
  },
  {
    files: ["src/providers/**/*.ts"],
    ignores: ["src/providers/ssh/**", "src/providers/registry.ts"],
    rules: rule([kubeOnly], [sshOnly, {
      regex: "(^|/)(controllers|cli)/|^(\\.\\./)+(main|config|registry)\\.js$",
      message: "Providers never import controllers, the registry or the composition root.",
    }, {
      regex: `^\\.\\./(\\.\\./)?(${PROVIDER_DIRS})/`,
      message: "One provider never imports another: move shared code to src/providers/shared (SSH: src/providers/ssh).",
    }]),
  },
  {
    files: ["src/providers/shared/**/*.ts", "src/providers/ssh/**/*.ts"],
    rules: rule([kubeOnly], [{
      regex: "(^|/)(controllers|cli)/|^(\\.\\./)+(main|config|registry)\\.js$",
      message: "Providers never import controllers, the registry or the composition root.",
    }, {
      regex: `^\\.\\./(\\.\\./)?(${PROVIDER_DIRS})/`,
      message: "Shared provider code never imports a provider.",
    }]),
  },
  {
    files: ["src/controllers/**/*.ts"],
    rules: rule([kubeOnly], [sshOnly, {
      regex: `(^|/)providers/(${PROVIDER_DIRS}|ssh)/`,
      message: "Controllers reach providers only through src/providers/types.ts and the registry.",
    }]),
  },
);
