// Lint guards what habit forgets (STYLE.md): floating promises, import cycles, and deep imports into another
// package's internals. Type-aware rules read each package's tsconfig through the project service.
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";

export default tseslint.config(
  { ignores: ["**/lib/**", "**/node_modules/**", "packages/wire/src/gen/**", "**/*.js", "**/*.mjs"] },
  {
    files: ["packages/*/src/**/*.ts", "test/**/*.ts"],
    extends: [tseslint.configs.recommended],
    plugins: { "import-x": importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      "import-x/resolver-next": [importX.createNodeResolver({ extensions: [".ts", ".js"] })],
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite", "before", "after", "beforeEach", "afterEach"] }] },
      ],
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false, attributes: false } }],
      "@typescript-eslint/await-thenable": "error",
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@corral/*/src/*", "@corral/*/lib/*", "@corral/*/src", "@corral/*/lib"], message: "import the package's public entry (its index), not its internals" },
            { group: ["**/packages/*/src/**", "**/packages/*/lib/**", "../../*/src/**", "../../../*/src/**"], message: "import another package by its name (@corral/...), not by path" },
          ],
        },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
);
