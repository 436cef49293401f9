// The two halves of @iarna/toml imported on their own (the package's index also loads its stream and async
// parsers, which pull node:stream in at start). The package ships types only for its index.
declare module '@iarna/toml/parse-string.js' {
  function parseString(text: string): Record<string, unknown>;
  export default parseString;
}
declare module '@iarna/toml/stringify.js' {
  function stringify(value: Record<string, unknown>): string;
  export default stringify;
}
