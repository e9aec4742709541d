// What the playground reads of the environment: everything but Slack's variables, which belong to a real workspace.

/** Slack variables in the environment belong to a real workspace; the playground must never read them. */
export function withoutSlackVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('SLACK_')));
}
