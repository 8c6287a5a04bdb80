import tseslint from "typescript-eslint";

const kubeOnly = { name: "@kubernetes/client-node", message: "Only src/kube/** talks to the API server library." };
const sshOnly = { group: ["ssh2"], message: "Only src/providers/ssh/** imports ssh2." };

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
    ignores: ["src/kube/**", "src/main.ts", "src/providers/ssh/**"],
    rules: { "no-restricted-imports": ["error", { paths: [kubeOnly], patterns: [sshOnly] }] },
  },
  { files: ["src/providers/ssh/**/*.ts"], rules: { "no-restricted-imports": ["error", { paths: [kubeOnly] }] } },
  { files: ["src/kube/**/*.ts"], rules: { "no-restricted-imports": ["error", { patterns: [sshOnly] }] } },
);
